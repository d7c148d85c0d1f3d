#!/usr/bin/env bash
# Builds the pinned local control plane (etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler, kubectl, kwok) from the Go module
# proxy into a cache directory keyed by the versions, and prints that
# directory's bin path on the last line of stdout. A warm cache costs nothing.
# With --print-dir it only prints that path.
set -euo pipefail

export GOTOOLCHAIN=go1.27.3
export CGO_ENABLED=0

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.sh
. "$here/versions.sh"

bin="$(controlplane_bin_dir)"
if [[ "${1:-}" == "--print-dir" ]]; then
	echo "$bin"
	exit 0
fi
mkdir -p "$bin"

log() { printf '[controlplane] %s\n' "$*" >&2; }
# shellcheck source=../build-lib.sh
. "$here/../build-lib.sh"
build() { cached_build controlplane "$bin" "$here/$1" "$2" "$3" "$4"; }

kube_ldflags="-s -w \
 -X k8s.io/component-base/version.gitVersion=${KUBE_VERSION} \
 -X k8s.io/component-base/version.gitMajor=${KUBE_VERSION_MAJOR} \
 -X k8s.io/component-base/version.gitMinor=${KUBE_VERSION_MINOR} \
 -X k8s.io/component-base/version.gitTreeState=clean \
 -X k8s.io/component-base/version.buildDate=1970-01-01T00:00:00Z \
 -X k8s.io/client-go/pkg/version.gitVersion=${KUBE_VERSION} \
 -X k8s.io/client-go/pkg/version.gitMajor=${KUBE_VERSION_MAJOR} \
 -X k8s.io/client-go/pkg/version.gitMinor=${KUBE_VERSION_MINOR}"

build etcd go.etcd.io/etcd/server/v3 etcd "-s -w"
build kwok sigs.k8s.io/kwok/cmd/kwok kwok "-s -w"
build kube k8s.io/kubernetes/cmd/kubectl kubectl "$kube_ldflags"
build kube k8s.io/kubernetes/cmd/kube-scheduler kube-scheduler "$kube_ldflags"
build kube k8s.io/kubernetes/cmd/kube-controller-manager kube-controller-manager "$kube_ldflags"
build kube k8s.io/kubernetes/cmd/kube-apiserver kube-apiserver "$kube_ldflags"

log "ready in $bin"
echo "$bin"
