#!/usr/bin/env bash
# Builds libposkit_ffi.so for Android with cargo-ndk into
# android/sdk/src/main/jniLibs/<abi>/ (where the :sdk module packs it into
# the AAR), then regenerates the Kotlin bindings the AAR compiles, so both
# come from the same source.
#
# Needs the Android NDK (r28 or newer: it links with 16 KB page alignment,
# which Android 15+ devices and Google Play require) at ANDROID_NDK_HOME.
# Installs cargo-ndk and the Rust Android targets when they are missing.
set -euo pipefail

usage() {
    cat <<'EOF'
Usage: scripts/build-android.sh [--abi ABI]... [--profile NAME] [--api LEVEL] [--no-sim]

Builds libposkit_ffi.so for Android into android/sdk/src/main/jniLibs and
regenerates the Kotlin bindings (scripts/generate-bindings.sh --kotlin-only).

  --abi ABI       arm64-v8a, armeabi-v7a or x86_64; repeat for several
                  (default: all three)
  --profile NAME  cargo profile (default: mobile, the size-first release
                  profile of the workspace)
  --api LEVEL     lowest Android API level to link against (default: 26,
                  the SDK's minSdk)
  --no-sim        leave the simulators out (a shop's release build: the
                  library is about 0.6 MB smaller; the demo app's
                  simulator mode then cannot work)
  -h, --help      show this help

Needs ANDROID_NDK_HOME pointing at an Android NDK, r28 or newer, e.g.
  export ANDROID_NDK_HOME=$HOME/Android/Sdk/ndk/<version>
EOF
}

abis=()
features=()
profile=mobile
api=26
while [[ $# -gt 0 ]]; do
    case "$1" in
        --abi | --profile | --api)
            [[ $# -ge 2 ]] || { echo "build-android: $1 needs a value" >&2; exit 2; }
            case "$1" in
                --abi) abis+=("$2") ;;
                --profile) profile="$2" ;;
                --api) api="$2" ;;
            esac
            shift
            ;;
        --no-sim) features=(--no-default-features) ;;
        -h | --help) usage; exit 0 ;;
        *) echo "build-android: unknown option $1" >&2; usage >&2; exit 2 ;;
    esac
    shift
done
[[ ${#abis[@]} -gt 0 ]] || abis=(arm64-v8a armeabi-v7a x86_64)

rust_target() {
    case "$1" in
        arm64-v8a) echo aarch64-linux-android ;;
        armeabi-v7a) echo armv7-linux-androideabi ;;
        x86_64) echo x86_64-linux-android ;;
        *) echo "build-android: unknown ABI $1 (use arm64-v8a, armeabi-v7a or x86_64)" >&2; exit 2 ;;
    esac
}
targets=()
for abi in "${abis[@]}"; do
    targets+=("$(rust_target "$abi")")
done

if [[ -z "${ANDROID_NDK_HOME:-}" ]]; then
    cat >&2 <<'EOF'
build-android: ANDROID_NDK_HOME is not set.
Install the Android NDK, r28 or newer (Android Studio: SDK Manager > SDK Tools >
NDK (Side by side); or `sdkmanager --list | grep "ndk;"`, then
`sdkmanager "ndk;<version>"`), and point ANDROID_NDK_HOME at it, e.g.
  export ANDROID_NDK_HOME=$HOME/Android/Sdk/ndk/<version>
EOF
    exit 1
fi
if [[ ! -f "$ANDROID_NDK_HOME/source.properties" ]]; then
    echo "build-android: $ANDROID_NDK_HOME is no Android NDK (no source.properties there)" >&2
    exit 1
fi
ndk_major="$(sed -n 's/^Pkg\.Revision *= *\([0-9]*\).*/\1/p' "$ANDROID_NDK_HOME/source.properties")"
if [[ -n "$ndk_major" && "$ndk_major" -lt 28 ]]; then
    echo "build-android: warning: NDK r$ndk_major links with 4 KB pages; devices with 16 KB" \
        "pages and Google Play need r28 or newer" >&2
fi
export ANDROID_NDK_HOME

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [[ -n "${CARGO_TARGET_DIR:-}" && "${CARGO_TARGET_DIR}" != /* ]]; then
    CARGO_TARGET_DIR="$PWD/$CARGO_TARGET_DIR"
    export CARGO_TARGET_DIR
fi
cd "$root"

if ! cargo ndk --version >/dev/null 2>&1; then
    echo "==> installing cargo-ndk"
    cargo install cargo-ndk --locked
fi
installed="$(rustup target list --installed)"
for target in "${targets[@]}"; do
    if ! grep -qx "$target" <<<"$installed"; then
        echo "==> rustup target add $target"
        rustup target add "$target"
    fi
done

jni_libs="$root/android/sdk/src/main/jniLibs"
ndk_args=()
for abi in "${abis[@]}"; do
    ndk_args+=(-t "$abi")
done
# Size: no unwind tables (panics abort in the mobile profile), identical
# code folded, relocations packed in Android's format (API 23+).
export CFLAGS="${CFLAGS:-} -fno-asynchronous-unwind-tables -fno-unwind-tables"
export RUSTFLAGS="${RUSTFLAGS:-} -C force-unwind-tables=no -C link-arg=-Wl,--icf=all -C link-arg=-Wl,--pack-dyn-relocs=android"
echo "==> cargo ndk ${ndk_args[*]} -P $api build -p poskit-ffi --profile $profile ${features[*]}"
cargo ndk "${ndk_args[@]}" -P "$api" -o "$jni_libs" build -p poskit-ffi --lib --profile "$profile" "${features[@]}"

for abi in "${abis[@]}"; do
    lib="$jni_libs/$abi/libposkit_ffi.so"
    if [[ ! -f "$lib" ]]; then
        echo "build-android: cargo-ndk wrote no $lib" >&2
        exit 1
    fi
    echo "    $lib ($(du -h "$lib" | cut -f1))"
done

# The bindings are generated from the host build, not from the libraries
# above: those are stripped (no metadata symbols left to read), and the
# metadata is the same for every target built from this source.
echo "==> Kotlin bindings for the AAR"
"$root/scripts/generate-bindings.sh" --kotlin-only
