#!/usr/bin/env bash
# Installs what the tests need and is missing; safe to run again.
# Rust comes from rustup; the JDK and Maven from Debian packages. Maven
# fetches the Kotlin compiler, JNA and JUnit itself on first use. The
# cross-checks' Python libraries (pyiso8583, cemacqr) come from PyPI.
set -euo pipefail

say() { printf '==> %s\n' "$*"; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
        echo "need root to run: $*" >&2; exit 1
    fi
}

apt_missing=()
need() { command -v "$1" >/dev/null 2>&1 || apt_missing+=("$2"); }

if ! command -v cargo >/dev/null 2>&1; then
    if [ -x "$HOME/.cargo/bin/cargo" ]; then
        export PATH="$HOME/.cargo/bin:$PATH"
    else
        echo "Rust is not installed: install it with rustup (https://rustup.rs), then run this again." >&2
        exit 1
    fi
fi
if command -v rustup >/dev/null 2>&1; then
    for component in rustfmt clippy; do
        rustup component list --installed 2>/dev/null | grep -q "^$component" \
            || { say "adding rust component $component"; rustup component add "$component"; }
    done
fi

need javac openjdk-17-jdk-headless
need mvn maven
need cc build-essential
if [ "${#apt_missing[@]}" -gt 0 ]; then
    say "installing Debian packages: ${apt_missing[*]}"
    as_root apt-get update -q
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${apt_missing[@]}"
fi
python3 -c 'import iso8583' 2>/dev/null || { say "installing pyiso8583"; python3 -m pip install --user --quiet pyiso8583; }
# The EMVCo QR cross-check's independent implementation, pinned: a new
# release may read the spec differently, and that should be a decision.
python3 -c 'import importlib.metadata as m, sys; sys.exit(m.version("cemacqr") != "0.1.2")' 2>/dev/null \
    || { say "installing cemacqr 0.1.2"; python3 -m pip install --user --quiet cemacqr==0.1.2; }
say "tools present: $(cargo --version), $(javac -version 2>&1), $(mvn -v 2>/dev/null | head -n1 | sed 's/\x1b\[[0-9;]*m//g')"
