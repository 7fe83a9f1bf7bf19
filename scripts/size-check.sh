#!/usr/bin/env bash
# Builds the native library as a shop's release ships it (the size-first
# `mobile` profile, no simulators, no unwind tables, identical code
# folded, relative relocations packed) for the host (x86_64 Linux here, a
# proxy for arm64) and fails when it is larger than the budget.
#
#   scripts/size-check.sh [--budget BYTES]     default 4194304 (4 MiB)
#
# Respects CARGO_TARGET_DIR (the build goes to its own `size-check`
# subdirectory so the flags do not invalidate the usual builds).
set -euo pipefail

budget=4194304
while [[ $# -gt 0 ]]; do
    case "$1" in
        --budget)
            [[ $# -ge 2 ]] || { echo "size-check: --budget needs a number of bytes" >&2; exit 2; }
            budget="$2"
            shift 2
            ;;
        -h | --help)
            sed -n '2,11p' "$0"
            exit 0
            ;;
        *)
            echo "size-check: unknown argument $1 (see --help)" >&2
            exit 2
            ;;
    esac
done

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
target_dir="$(cargo metadata --format-version 1 --no-deps |
    sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
out="$target_dir/size-check"

case "$(uname -s)" in
    Linux)
        lib="libposkit_ffi.so"
        link="-C link-arg=-Wl,-z,pack-relative-relocs -C link-arg=-Wl,--icf=all"
        ;;
    Darwin)
        lib="libposkit_ffi.dylib"
        link=""
        ;;
    *)
        echo "size-check: only Linux and macOS hosts are measured" >&2
        exit 2
        ;;
esac

echo "==> cargo build -p poskit-ffi --profile mobile --no-default-features (into $out)"
CFLAGS="-fno-asynchronous-unwind-tables -fno-unwind-tables" \
    RUSTFLAGS="-C force-unwind-tables=no $link" \
    CARGO_TARGET_DIR="$out" \
    cargo build -q -p poskit-ffi --lib --profile mobile --no-default-features

size="$(wc -c <"$out/mobile/$lib")"
echo "size-check: $lib is $size bytes stripped (budget $budget)"
if [[ "$size" -gt "$budget" ]]; then
    echo "size-check: over budget by $((size - budget)) bytes" >&2
    exit 1
fi
