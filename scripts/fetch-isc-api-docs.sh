#!/usr/bin/env bash
# Provides the official ISC API documents the conformance tests validate against.
#
# Does nothing when they are already available (ISC_API_DOCS, or shared/isc-api/ beside the
# checkout); otherwise downloads them from the official sailpoint-oss/api-specs repository at
# pinned commits, verifies SHA-256, and installs them atomically into the per-user cache
# ${XDG_CACHE_HOME:-$HOME/.cache}/isc-operator/isc-api/<pin>/, where
# isc_sim::testing::api_docs_dir() looks. Idempotent; exits non-zero with a one-line cause.
set -euo pipefail

# The api-specs snapshot commit; names the cache directory (isc_sim::testing::API_DOCS_PIN).
PIN=81ef79d05e43806f9083f42015a2a359bbd76e1f
RAW=https://raw.githubusercontent.com/sailpoint-oss/api-specs
# local name | commit | path in the repository | sha256
DOCS=(
  "sailpoint-api.v2024.json|81ef79d05e43806f9083f42015a2a359bbd76e1f|dereferenced/deref-sailpoint-api.v2024.json|0d42d4640f7569f0b9127648cd2ea3cedf62dcc14bb30519877bf609865453ed"
  "sailpoint-api.cc.historical.yaml|03cc4958be5e2e6b559e2f718d3ac8c102e798b1|idn/sailpoint-api.cc.yaml|8be094dc80efa3a6f6d0f6d6019bcc21a7734b6196377fe99d3889e3572890df"
)

fail() { echo "fetch-isc-api-docs: $*" >&2; exit 1; }

has_docs() {
  local dir=$1 entry
  for entry in "${DOCS[@]}"; do
    [[ -f "$dir/${entry%%|*}" ]] || return 1
  done
}

sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [[ -n "${ISC_API_DOCS:-}" ]]; then
  has_docs "$ISC_API_DOCS" || fail "ISC_API_DOCS=$ISC_API_DOCS does not hold the API documents"
  echo "API documents: $ISC_API_DOCS (ISC_API_DOCS)"
  exit 0
fi
if has_docs "$root/../shared/isc-api"; then
  echo "API documents: $(cd "$root/../shared/isc-api" && pwd) (shared/ beside the checkout)"
  exit 0
fi

cache_home=${XDG_CACHE_HOME:-}
[[ -n "$cache_home" ]] || { [[ -n "${HOME:-}" ]] || fail "neither XDG_CACHE_HOME nor HOME is set"; cache_home=$HOME/.cache; }
dest=$cache_home/isc-operator/isc-api/$PIN
mkdir -p "$dest" || fail "cannot create $dest"

for entry in "${DOCS[@]}"; do
  IFS='|' read -r name commit path sha <<<"$entry"
  if [[ -f "$dest/$name" ]]; then
    [[ "$(sha256_of "$dest/$name")" == "$sha" ]] && continue
    echo "fetch-isc-api-docs: $dest/$name has the wrong SHA-256; downloading it again" >&2
  fi
  tmp=$(mktemp "$dest/.$name.XXXXXX") || fail "cannot write in $dest"
  url=$RAW/$commit/$path
  if command -v curl >/dev/null 2>&1; then
    curl -fsSL --retry 3 -o "$tmp" "$url" 2>/dev/null || { rm -f "$tmp"; fail "download failed: $url"; }
  elif command -v wget >/dev/null 2>&1; then
    wget -q -O "$tmp" "$url" || { rm -f "$tmp"; fail "download failed: $url"; }
  else
    rm -f "$tmp"; fail "neither curl nor wget is installed"
  fi
  got=$(sha256_of "$tmp")
  [[ "$got" == "$sha" ]] || { rm -f "$tmp"; fail "SHA-256 mismatch for $url: got $got, want $sha"; }
  chmod 0644 "$tmp"
  mv -f "$tmp" "$dest/$name" || { rm -f "$tmp"; fail "cannot install $dest/$name"; }
done
echo "API documents: $dest (per-user cache)"
