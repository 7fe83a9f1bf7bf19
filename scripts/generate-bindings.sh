#!/usr/bin/env bash
# Generates the Kotlin and Swift bindings of libposkit_ffi with the
# uniffi-bindgen pinned in the workspace (library mode: the bindings are
# read from the metadata compiled into the library, so they always match
# the library built from the same source).
#
#   Kotlin -> bindings/kotlin/target/generated-sources/uniffi/uniffi/poskit_ffi/poskit_ffi.kt
#             (the directory scripts/test-kotlin.sh and android/sdk compile)
#   Swift  -> bindings/swift/Sources/PosKitFFI/poskit_ffi.swift
#             bindings/swift/Sources/poskit_ffiFFI/include/poskit_ffiFFI.h
#             bindings/swift/Sources/poskit_ffiFFI/include/module.modulemap
#             (the headers scripts/build-xcframework.sh packs into the xcframework)
#
# None of it is committed. Needs only cargo: writing the Swift files needs
# no Swift toolchain.
set -euo pipefail

usage() {
    cat <<'EOF'
Usage: scripts/generate-bindings.sh [--release | --library PATH] [--kotlin-only | --swift-only]

Builds libposkit_ffi for the host (debug unless --release) and generates
the Kotlin and Swift bindings from it.

  --release       build the host library with the release profile
  --library PATH  generate from this already built libposkit_ffi (.so,
                  .dylib or .a) instead of building one; it must keep its
                  symbol table (a stripped library holds no bindings)
  --kotlin-only   generate only the Kotlin bindings
  --swift-only    generate only the Swift bindings
  -h, --help      show this help

Respects CARGO_TARGET_DIR. Runs from any directory.
EOF
}

profile=debug
library=""
kotlin=1
swift=1
while [[ $# -gt 0 ]]; do
    case "$1" in
        --release) profile=release ;;
        --library)
            [[ $# -ge 2 ]] || { echo "generate-bindings: --library needs a path" >&2; exit 2; }
            library="$2"
            shift
            ;;
        --kotlin-only) swift=0 ;;
        --swift-only) kotlin=0 ;;
        -h | --help) usage; exit 0 ;;
        *) echo "generate-bindings: unknown option $1" >&2; usage >&2; exit 2 ;;
    esac
    shift
done
if [[ $kotlin -eq 0 && $swift -eq 0 ]]; then
    echo "generate-bindings: --kotlin-only and --swift-only together leave nothing to do" >&2
    exit 2
fi
if [[ -n "$library" && "$profile" == release ]]; then
    echo "generate-bindings: --release builds a library, --library uses one: pick one" >&2
    exit 2
fi

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# Paths given relative to where we were called from stay so after the cd.
if [[ -n "${CARGO_TARGET_DIR:-}" && "${CARGO_TARGET_DIR}" != /* ]]; then
    CARGO_TARGET_DIR="$PWD/$CARGO_TARGET_DIR"
    export CARGO_TARGET_DIR
fi
if [[ -n "$library" && "$library" != /* ]]; then
    library="$PWD/$library"
fi
cd "$root"

if [[ -z "$library" ]]; then
    # Ask cargo rather than guess: this also honours build.target-dir.
    target_dir="$(cargo metadata --format-version 1 --no-deps |
        sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
    if [[ -z "$target_dir" ]]; then
        echo "generate-bindings: could not read the target directory from cargo metadata" >&2
        exit 1
    fi
    case "$(uname -s)" in
        Darwin) lib_ext=dylib ;;
        *) lib_ext=so ;;
    esac
    library="$target_dir/$profile/libposkit_ffi.$lib_ext"
    build_args=(-p poskit-ffi)
    [[ "$profile" == release ]] && build_args+=(--release)
    echo "==> cargo build ${build_args[*]}"
    cargo build "${build_args[@]}"
fi
if [[ ! -f "$library" ]]; then
    echo "generate-bindings: no library at $library" >&2
    exit 1
fi

bindgen() {
    if ! cargo run --quiet -p uniffi-bindgen -- generate --library "$library" --no-format "$@"; then
        echo "generate-bindings: uniffi-bindgen failed on $library; a stripped library" \
            "(such as the mobile profile's) holds no bindings: generate from an unstripped build" >&2
        exit 1
    fi
}

# Fails when a generated file is missing or holds no Terminal, which is what
# a stripped library (no metadata symbols) produces.
check_generated() {
    local file="$1" marker="$2"
    if [[ ! -s "$file" ]] || ! grep -q "$marker" "$file"; then
        echo "generate-bindings: $file is missing or has no $marker;" \
            "was $library stripped? Generate from an unstripped build." >&2
        exit 1
    fi
}

# Generated into a scratch directory first: a failed run leaves the
# previous bindings in place.
staging="$(mktemp -d)"
trap 'rm -rf "$staging"' EXIT

if [[ $kotlin -eq 1 ]]; then
    kotlin_out="$root/bindings/kotlin/target/generated-sources/uniffi"
    echo "==> Kotlin bindings from $library"
    bindgen --language kotlin --out-dir "$staging/kotlin"
    check_generated "$staging/kotlin/uniffi/poskit_ffi/poskit_ffi.kt" "class PosTerminal"
    rm -rf "$kotlin_out"
    mkdir -p "$(dirname "$kotlin_out")"
    mv "$staging/kotlin" "$kotlin_out"
    echo "    $kotlin_out/uniffi/poskit_ffi/poskit_ffi.kt"
fi

if [[ $swift -eq 1 ]]; then
    swift_root="$root/bindings/swift/Sources"
    swift_src="$swift_root/PosKitFFI"
    swift_include="$swift_root/poskit_ffiFFI/include"
    echo "==> Swift bindings from $library"
    swift_staging="$staging/swift"
    bindgen --language swift --out-dir "$swift_staging"
    check_generated "$swift_staging/poskit_ffi.swift" "class PosTerminal"
    check_generated "$swift_staging/poskit_ffiFFI.h" "uniffi_poskit_ffi_fn_func_open_terminal"
    rm -rf "$swift_src" "$swift_include"
    mkdir -p "$swift_src" "$swift_include"
    mv "$swift_staging/poskit_ffi.swift" "$swift_src/"
    mv "$swift_staging/poskit_ffiFFI.h" "$swift_include/"
    # Clang finds a directory's module map by this name; the module inside
    # stays poskit_ffiFFI, which the generated Swift imports.
    mv "$swift_staging/poskit_ffiFFI.modulemap" "$swift_include/module.modulemap"
    echo "    $swift_src/poskit_ffi.swift"
    echo "    $swift_include/poskit_ffiFFI.h"
    echo "    $swift_include/module.modulemap"
fi
