#!/usr/bin/env bash
# Builds the test control plane (kube-apiserver, kubectl, etcd) from their Go modules and
# caches them per user. Idempotent: when all three binaries are cached it does nothing.
# The last line on stdout is the bin directory; everything else goes to stderr.
#
#   ISC_TEST_CACHE   cache root (default: ${XDG_CACHE_HOME:-$HOME/.cache}/isc-operator)
#
# Sources: controlplane/go.mod (k8s.io/kubernetes + one replace per staging module)
# and controlplane/etcd/go.mod (go.etcd.io/etcd/server/v3). Their go.sum files are
# committed, so builds are reproducible (-mod=readonly). Go is a test tool only.
set -euo pipefail

K8S_VERSION=v1.35.4
ETCD_VERSION=v3.6.6
K8S_MINOR=35

die() { echo "controlplane-bins: $*" >&2; exit 1; }

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache_root=${ISC_TEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/isc-operator}
base="$cache_root/controlplane"
dest="$base/k8s-$K8S_VERSION-etcd-$ETCD_VERSION"
bin="$dest/bin"

complete() { [[ -x "$bin/kube-apiserver" && -x "$bin/etcd" && -x "$bin/kubectl" ]]; }

if complete; then
    echo "$bin"
    exit 0
fi

if ! command -v go >/dev/null 2>&1; then
    echo "go is required to build the test control plane: install Go >= 1.24" >&2
    exit 1
fi

mkdir -p "$base"

# Several test processes may ask at once (e.g. nextest): one builds, the others wait.
if command -v flock >/dev/null 2>&1; then
    exec 9>"$base/.build.lock"
    flock 9
    if complete; then
        echo "$bin"
        exit 0
    fi
    # Holding the lock: leftovers of interrupted builds can go.
    rm -rf "$base"/.tmp-build.*
fi

# Build next to the destination (same filesystem) and rename into place at the end,
# so an interrupted build never leaves a half-filled cache.
tmp=$(mktemp -d "$base/.tmp-build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/bin"

export GOWORK=off
export CGO_ENABLED=0
export GOFLAGS="${GOFLAGS:+$GOFLAGS }-mod=readonly"
nice_cmd=()
command -v nice >/dev/null 2>&1 && nice_cmd=(nice -n 15)

start=$SECONDS
echo "controlplane-bins: building kube-apiserver + kubectl $K8S_VERSION and etcd $ETCD_VERSION into $bin (first run only; takes several minutes)" >&2

k8s_ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    k8s_ldflags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$K8S_MINOR"
    k8s_ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
done

(
    cd "$here/controlplane/etcd"
    "${nice_cmd[@]}" go build -trimpath -ldflags "-s -w" -o "$tmp/bin/etcd" go.etcd.io/etcd/server/v3
) || die "building etcd $ETCD_VERSION failed (see the go output above)"
echo "controlplane-bins: etcd built ($((SECONDS - start)) s)" >&2

(
    cd "$here/controlplane"
    "${nice_cmd[@]}" go build -trimpath -ldflags "$k8s_ldflags" -o "$tmp/bin/" \
        k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kubectl
) || die "building kube-apiserver/kubectl $K8S_VERSION failed (see the go output above)"
echo "controlplane-bins: kube-apiserver + kubectl built ($((SECONDS - start)) s)" >&2

for b in kube-apiserver kubectl etcd; do
    [[ -x "$tmp/bin/$b" ]] || die "build produced no $b"
done

mkdir -p "$dest"
rm -rf "$bin" # only ever an incomplete leftover here (complete() was false)
mv -T "$tmp/bin" "$bin"
echo "$bin"
