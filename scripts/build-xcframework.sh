#!/usr/bin/env bash
# Builds bindings/swift/poskit_ffiFFI.xcframework: libposkit_ffi.a for
# iOS devices, the iOS simulator (arm64 + x86_64 in one fat library) and
# macOS (arm64 + x86_64; what `swift test` runs the package's tests on),
# each with the generated C header and module map. Generates the Swift
# bindings first, so the package's sources and the library match.
#
# Needs macOS with Xcode (xcodebuild, lipo) and rustup. Installs the Rust
# Apple targets when they are missing.
set -euo pipefail

usage() {
    cat <<'EOF'
Usage: scripts/build-xcframework.sh [--profile NAME]

Builds bindings/swift/poskit_ffiFFI.xcframework (iOS, iOS simulator, macOS)
and the Swift bindings next to it (scripts/generate-bindings.sh --swift-only).

  --profile NAME  cargo profile (default: mobile, the size-first release
                  profile of the workspace)
  -h, --help      show this help

Deployment targets follow IPHONEOS_DEPLOYMENT_TARGET (default 15.0) and
MACOSX_DEPLOYMENT_TARGET (default 12.0), as in bindings/swift/Package.swift.
EOF
}

profile=mobile
while [[ $# -gt 0 ]]; do
    case "$1" in
        --profile)
            [[ $# -ge 2 ]] || { echo "build-xcframework: --profile needs a value" >&2; exit 2; }
            profile="$2"
            shift
            ;;
        -h | --help) usage; exit 0 ;;
        *) echo "build-xcframework: unknown option $1" >&2; usage >&2; exit 2 ;;
    esac
    shift
done

if [[ "$(uname -s)" != Darwin ]]; then
    cat >&2 <<'EOF'
build-xcframework: an xcframework can only be built on macOS with Xcode
(xcodebuild and the iOS SDKs live there); nothing was built.
On this machine, scripts/generate-bindings.sh --swift-only still writes the
Swift bindings, and scripts/build-android.sh builds the Android libraries.
EOF
    exit 1
fi
for tool in xcodebuild lipo rustup cargo; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "build-xcframework: $tool is missing (install Xcode and rustup)" >&2
        exit 1
    fi
done

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [[ -n "${CARGO_TARGET_DIR:-}" && "${CARGO_TARGET_DIR}" != /* ]]; then
    CARGO_TARGET_DIR="$PWD/$CARGO_TARGET_DIR"
    export CARGO_TARGET_DIR
fi
cd "$root"

export IPHONEOS_DEPLOYMENT_TARGET="${IPHONEOS_DEPLOYMENT_TARGET:-15.0}"
export MACOSX_DEPLOYMENT_TARGET="${MACOSX_DEPLOYMENT_TARGET:-12.0}"

targets=(aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios aarch64-apple-darwin x86_64-apple-darwin)
installed="$(rustup target list --installed)"
for target in "${targets[@]}"; do
    if ! grep -qx "$target" <<<"$installed"; then
        echo "==> rustup target add $target"
        rustup target add "$target"
    fi
done

target_dir="$(cargo metadata --format-version 1 --no-deps |
    sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
if [[ -z "$target_dir" ]]; then
    echo "build-xcframework: could not read the target directory from cargo metadata" >&2
    exit 1
fi

for target in "${targets[@]}"; do
    echo "==> cargo build -p poskit-ffi --lib --profile $profile --target $target"
    cargo build -p poskit-ffi --lib --profile "$profile" --target "$target"
done
lib() { echo "$target_dir/$1/$profile/libposkit_ffi.a"; }

# The Swift sources, header and module map, from the same source tree.
"$root/scripts/generate-bindings.sh" --swift-only
include="$root/bindings/swift/Sources/poskit_ffiFFI/include"

staging="$(mktemp -d)"
trap 'rm -rf "$staging"' EXIT

# An xcframework takes one library per platform: the simulator's and the
# Mac's two architectures become one fat library each.
mkdir -p "$staging/ios-simulator" "$staging/macos"
lipo -create "$(lib aarch64-apple-ios-sim)" "$(lib x86_64-apple-ios)" \
    -output "$staging/ios-simulator/libposkit_ffi.a"
lipo -create "$(lib aarch64-apple-darwin)" "$(lib x86_64-apple-darwin)" \
    -output "$staging/macos/libposkit_ffi.a"

# Headers in a folder named after the module: Xcode copies every static
# xcframework's headers into one include directory, where two module maps
# at the top would collide; clang finds <module>/module.modulemap there.
mkdir -p "$staging/headers/poskit_ffiFFI"
cp "$include/poskit_ffiFFI.h" "$include/module.modulemap" "$staging/headers/poskit_ffiFFI/"

output="$root/bindings/swift/poskit_ffiFFI.xcframework"
rm -rf "$output"
echo "==> xcodebuild -create-xcframework -> $output"
xcodebuild -create-xcframework \
    -library "$(lib aarch64-apple-ios)" -headers "$staging/headers" \
    -library "$staging/ios-simulator/libposkit_ffi.a" -headers "$staging/headers" \
    -library "$staging/macos/libposkit_ffi.a" -headers "$staging/headers" \
    -output "$output"
echo "    $output"
