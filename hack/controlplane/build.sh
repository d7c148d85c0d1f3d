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

# build MODULE_DIR PACKAGE BINARY LDFLAGS: builds one binary unless cached,
# printing a heartbeat so a cold build (many minutes) never looks hung.
build() {
	local dir="$1" pkg="$2" name="$3" ldflags="$4"
	if [[ -x "$bin/$name" ]]; then
		log "$name: cached"
		return
	fi
	log "$name: building $pkg (cold builds take minutes)"
	local start=$SECONDS
	(cd "$here/$dir" && go build -trimpath -ldflags "$ldflags" -o "$bin/$name.tmp" "$pkg") &
	local pid=$!
	while kill -0 "$pid" 2>/dev/null; do
		sleep 5
		if kill -0 "$pid" 2>/dev/null && (( (SECONDS - start) % 60 < 5 )); then
			log "$name: still building ($((SECONDS - start))s)"
		fi
	done
	if ! wait "$pid"; then
		log "$name: build failed"
		rm -f "$bin/$name.tmp"
		exit 1
	fi
	mv "$bin/$name.tmp" "$bin/$name"
	log "$name: built in $((SECONDS - start))s"
}

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
