#!/usr/bin/env bash
# The one test command: installs what is missing, then runs every test:
# formatting and lints, Rust unit/property/CLI tests, the fuzz targets'
# build, the Kotlin tests on a plain JVM through the FFI, and the size
# budget of the native library apps ship.
set -euo pipefail
cd "$(dirname "$0")/.."

start=$(date +%s)
step() { printf '\n==> %s (%ss)\n' "$*" "$(( $(date +%s) - start ))"; }

step "dependencies"
scripts/install-deps.sh
export PATH="$HOME/.cargo/bin:$PATH"

step "format"
cargo fmt --all --check

step "lint"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "rust tests"
# Files the tests write go under target/test-data; start from nothing so
# the final scan sees only this run's files.
rm -rf target/test-data
cargo test --workspace --locked

step "fuzz targets build"
cargo check --manifest-path fuzz/Cargo.toml --bins

step "kotlin tests on the JVM"
scripts/test-kotlin.sh

step "the shipped native library stays under 4 MiB"
scripts/size-check.sh

step "no card data at rest in anything the tests wrote"
cargo test --locked -p poskit-store --test workspace_card_data_scan -- --ignored

step "all tests passed"
