#!/usr/bin/env bash
# Runs every check and every test: formatting, lints, unit/property tests, simulator, client,
# conformance and end-to-end tests (real kube-apiserver + etcd), then the demo.
# Usage: scripts/test.sh            (from anywhere inside the checkout)
set -euo pipefail
cd "$(dirname "$0")/.."

need() {
  command -v "$1" >/dev/null 2>&1 || { echo "error: $1 is required: $2" >&2; exit 1; }
}
need cargo "install Rust with rustup (https://rustup.rs)"
need go "install Go >= 1.26 (it builds the test control plane, helm and the kstatus test tool from Go modules)"
need openssl "install it (Debian: apt-get install openssl); the test control plane makes its keys with it"
cargo fmt --version >/dev/null 2>&1 || { echo "error: rustfmt is required: rustup component add rustfmt" >&2; exit 1; }
cargo clippy --version >/dev/null 2>&1 || { echo "error: clippy is required: rustup component add clippy" >&2; exit 1; }
# The official API documents for the conformance tests: ISC_API_DOCS, ../shared/isc-api/, or the
# per-user cache (downloaded at a pinned commit and SHA-256-checked when neither is there).
bash scripts/fetch-isc-api-docs.sh

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --all-features --locked -- -D warnings
echo "== test control plane binaries"
crates/kube-testenv/controlplane-bins.sh >/dev/null
echo "== helm (chart tests)"
tests/tools/helm/helm-bin.sh >/dev/null
echo "== kstatus test tool (cli-utils kstatus, gopher-lua)"
tests/tools/kstatus/build.sh >/dev/null
echo "== cargo test"
# Every layer: unit, reconciler, client, simulator and (feature e2e) end-to-end tests.
results=$(mktemp)
trap 'rm -f "$results"' EXIT
cargo test --workspace --all-features --lib --tests --locked 2>&1 | tee "$results"
echo "== demo (the README's main command)"
cargo run --locked --example demo
# One closing line for the whole run.
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     END { printf "tests: %d passed, %d failed\n", p, f }' "$results"
