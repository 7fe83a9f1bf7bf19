#!/usr/bin/env bash
# Runs the Kotlin tests on a plain JVM against the host-built library:
#   1-2. scripts/generate-bindings.sh builds libposkit_ffi (debug) and
#      generates the Kotlin bindings (into
#      bindings/kotlin/target/generated-sources/uniffi, not committed) and
#      the Swift ones from it,
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

native_dir="$target_dir/debug"
generated="$root/bindings/kotlin/target/generated-sources/uniffi"

# The one script that writes both languages' bindings; the Swift ones are
# written too, so a change that breaks them fails here (no Swift
# toolchain is needed to write them).
"$root/scripts/generate-bindings.sh"

echo "==> mvn test (JNA library path: $native_dir)"
mvn -B -ntp -f "$root/bindings/kotlin/pom.xml" \
    -Dposkit.native.dir="$native_dir" \
    -Duniffi.generated.dir="$generated" \
    test "$@"
