#!/usr/bin/env bash
# Builds the kstatus test tool (cli-utils kstatus + gopher-lua, see main.go) and caches it per
# user, keyed by a hash of its sources (go.mod, go.sum, *.go) and the Go version. Idempotent:
# when the binary for this key is cached it does nothing. The last line on stdout is the
# binary's path; everything else goes to stderr.
#
#   ISC_TEST_CACHE   cache root (default: ${XDG_CACHE_HOME:-$HOME/.cache}/isc-operator)
#
# go.sum is committed, so builds are reproducible (-mod=readonly). Go is a test tool only.
set -euo pipefail

die() { echo "kstatus-tool: $*" >&2; exit 1; }

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache_root=${ISC_TEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/isc-operator}
base="$cache_root/kstatus-tool"

command -v go >/dev/null 2>&1 || die "go is required to build the kstatus test tool: install Go >= 1.24"

key=$(
    cd "$here"
    { go env GOVERSION; cat go.mod go.sum; for f in $(ls ./*.go | LC_ALL=C sort); do echo "$f"; cat "$f"; done; } |
        sha256sum | cut -c1-16
)
dest="$base/$key"
bin="$dest/kstatus"

if [[ -x "$bin" ]]; then
    echo "$bin"
    exit 0
fi

mkdir -p "$base"

# Several test processes may ask at once: one builds, the others wait.
if command -v flock >/dev/null 2>&1; then
    exec 9>"$base/.build.lock"
    flock 9
    if [[ -x "$bin" ]]; then
        echo "$bin"
        exit 0
    fi
    rm -rf "$base"/.tmp-build.*
fi

# Build next to the destination and rename into place, so an interrupted build never leaves
# a half-written binary under the key.
tmp=$(mktemp -d "$base/.tmp-build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

export GOWORK=off
export CGO_ENABLED=0
export GOFLAGS="${GOFLAGS:+$GOFLAGS }-mod=readonly -buildvcs=false"
nice_cmd=()
command -v nice >/dev/null 2>&1 && nice_cmd=(nice -n 15)

start=$SECONDS
echo "kstatus-tool: building $bin (first run after a change of its sources)" >&2
(
    cd "$here"
    "${nice_cmd[@]}" go build -trimpath -ldflags "-s -w" -o "$tmp/kstatus" .
) || die "building the kstatus test tool failed (see the go output above)"
[[ -x "$tmp/kstatus" ]] || die "build produced no binary"
echo "kstatus-tool: built ($((SECONDS - start)) s)" >&2

mkdir -p "$dest"
mv -f "$tmp/kstatus" "$bin"
echo "$bin"
