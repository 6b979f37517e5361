#!/usr/bin/env bash
# Builds the helm CLI from its Go module (helm.sh/helm/v3/cmd/helm, pinned by go.mod and the
# committed go.sum in this directory) and caches it per user. Idempotent: when the binary is
# cached it does nothing. The last line on stdout is the path of the helm binary; everything
# else goes to stderr. Used by tests/helm.rs and charts/generate-install.sh.
#
#   ISC_TEST_CACHE   cache root (default: ${XDG_CACHE_HOME:-$HOME/.cache}/isc-operator)
#   ISC_HELM_BIN     a prebuilt helm to use instead (printed back unchanged, nothing built)
set -euo pipefail

HELM_VERSION=v3.22.0

die() { echo "helm-bin: $*" >&2; exit 1; }

if [[ -n "${ISC_HELM_BIN:-}" ]]; then
    [[ -x "$ISC_HELM_BIN" ]] || die "ISC_HELM_BIN=$ISC_HELM_BIN is not an executable file"
    echo "$ISC_HELM_BIN"
    exit 0
fi

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache_root=${ISC_TEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/isc-operator}
base="$cache_root/helm"
# A hash of go.mod and go.sum in the path: any change to them builds a new binary.
sum=$(cat "$here/go.mod" "$here/go.sum" | sha256sum | cut -c1-12)
dest="$base/$HELM_VERSION-$sum"
bin="$dest/bin/helm"

if [[ -x "$bin" ]]; then
    echo "$bin"
    exit 0
fi

command -v go >/dev/null 2>&1 || die "go is required to build helm $HELM_VERSION: install Go >= 1.26"

mkdir -p "$base"

# Several test processes may ask at once: one builds, the others wait.
if command -v flock >/dev/null 2>&1; then
    exec 9>"$base/.build.lock"
    flock 9
    if [[ -x "$bin" ]]; then
        echo "$bin"
        exit 0
    fi
    # Holding the lock: leftovers of interrupted builds can go.
    rm -rf "$base"/.tmp-build.*
fi

# Build next to the destination and rename into place at the end, so an interrupted build
# never leaves a half-filled cache.
tmp=$(mktemp -d "$base/.tmp-build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/bin"

export GOWORK=off
export CGO_ENABLED=0
export GOFLAGS="${GOFLAGS:+$GOFLAGS }-mod=readonly"
nice_cmd=()
command -v nice >/dev/null 2>&1 && nice_cmd=(nice -n 15)

start=$SECONDS
echo "helm-bin: building helm $HELM_VERSION into $bin (first run only; takes a few minutes)" >&2
(
    cd "$here"
    # What helm's own Makefile sets: the version, and the Kubernetes version `helm lint` and
    # `helm template` assume (from the client-go the module resolves: v0.N -> 1.N).
    client_go=$(go list -m -f '{{.Version}}' k8s.io/client-go)
    k8s_minor=$(echo "$client_go" | cut -d. -f2)
    ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
    ldflags+=" -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
    for pkg in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
        ldflags+=" -X $pkg.k8sVersionMajor=1 -X $pkg.k8sVersionMinor=$k8s_minor"
    done
    "${nice_cmd[@]}" go build -trimpath -ldflags "$ldflags" -o "$tmp/bin/helm" helm.sh/helm/v3/cmd/helm
) || die "building helm $HELM_VERSION failed (see the go output above)"
[[ -x "$tmp/bin/helm" ]] || die "build produced no helm"
echo "helm-bin: helm built ($((SECONDS - start)) s)" >&2

mkdir -p "$dest"
rm -rf "$dest/bin" # only ever an incomplete leftover here
mv -T "$tmp/bin" "$dest/bin"
echo "$bin"
