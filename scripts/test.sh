#!/usr/bin/env bash
# Runs every check and every test: formatting, lints, unit, simulator, client and conformance tests.
# Usage: scripts/test.sh            (from anywhere inside the checkout)
set -euo pipefail
cd "$(dirname "$0")/.."

need() {
  command -v "$1" >/dev/null 2>&1 || { echo "error: $1 is required: $2" >&2; exit 1; }
}
need cargo "install Rust with rustup (https://rustup.rs)"
cargo fmt --version >/dev/null 2>&1 || { echo "error: rustfmt is required: rustup component add rustfmt" >&2; exit 1; }
cargo clippy --version >/dev/null 2>&1 || { echo "error: clippy is required: rustup component add clippy" >&2; exit 1; }
if [ ! -f ../shared/isc-api/sailpoint-api.v2024.json ]; then
  echo "error: ../shared/isc-api/ (the official API documents) must sit beside the checkout" >&2
  exit 1
fi

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --all-targets --locked -- -D warnings
echo "== cargo test"
cargo test --all-targets --locked
