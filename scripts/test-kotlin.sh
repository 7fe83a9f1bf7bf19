#!/usr/bin/env bash
# Runs the Kotlin tests on a plain JVM against the host-built library:
#   1. builds libposkit_ffi (debug),
#   2. generates the Kotlin bindings from the built library (library mode,
#      with the uniffi-bindgen pinned in the workspace)
#      into bindings/kotlin/target/generated-sources/uniffi (not committed),
#   3. runs `mvn test` in bindings/kotlin with JNA pointed at the library.
#
# Runs from any directory; respects CARGO_TARGET_DIR. Extra arguments go to
# Maven, e.g. `scripts/test-kotlin.sh -Dtest=CryptoTest`. Needs cargo, a JDK
# (17+) and Maven; the first run downloads Maven plugins and libraries from
# Maven Central.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# A relative CARGO_TARGET_DIR means relative to where we were called from.
if [[ -n "${CARGO_TARGET_DIR:-}" && "${CARGO_TARGET_DIR}" != /* ]]; then
    CARGO_TARGET_DIR="$PWD/$CARGO_TARGET_DIR"
    export CARGO_TARGET_DIR
fi
cd "$root"

# Ask cargo rather than guess: this also honours build.target-dir in config.
target_dir="$(cargo metadata --format-version 1 --no-deps |
    sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
if [[ -z "$target_dir" ]]; then
    echo "test-kotlin: could not read the target directory from cargo metadata" >&2
    exit 1
fi

case "$(uname -s)" in
    Darwin) lib_ext=dylib ;;
    *) lib_ext=so ;;
esac
native_dir="$target_dir/debug"
library="$native_dir/libposkit_ffi.$lib_ext"
generated="$root/bindings/kotlin/target/generated-sources/uniffi"

# Built separately on purpose: built together, cargo unifies their
# dependencies' features and each later lone build recompiles them.
echo "==> cargo build -p poskit-ffi"
cargo build -p poskit-ffi

echo "==> generating Kotlin bindings from $library"
rm -rf "$generated"
cargo run -p uniffi-bindgen -- generate --library "$library" \
    --language kotlin --out-dir "$generated" --no-format

echo "==> mvn test (JNA library path: $native_dir)"
mvn -B -ntp -f "$root/bindings/kotlin/pom.xml" \
    -Dposkit.native.dir="$native_dir" \
    -Duniffi.generated.dir="$generated" \
    test "$@"
