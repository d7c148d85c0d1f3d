#!/usr/bin/env bash
# Copies Istio's CustomResourceDefinitions (kubernetes/customresourcedefinitions.gen.yaml
# of the pinned istio.io/api module, fetched through the Go module proxy and
# checked against go.sum) into a cache file keyed by the version, and prints
# that file's path on the last line of stdout. A warm cache costs nothing.
# With --print-path it only prints the path.
set -euo pipefail

export GOTOOLCHAIN=go1.27.3

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.sh
. "$here/versions.sh"

file="$(istio_crds_file)"
if [[ "${1:-}" == "--print-path" ]]; then
	echo "$file"
	exit 0
fi

log() { printf '[istio] %s\n' "$*" >&2; }

if [[ -s "$file" ]]; then
	log "CRDs: cached"
	echo "$file"
	exit 0
fi
if ! grep -q "istio.io/api ${ISTIO_API_VERSION}" "$here/go.mod"; then
	log "go.mod does not require istio.io/api ${ISTIO_API_VERSION}; update versions.sh and go.mod together"
	exit 1
fi

# Inside this module, so the download is verified against its go.sum.
dir="$(cd "$here" && go mod download -json "istio.io/api@${ISTIO_API_VERSION}" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
src="$dir/kubernetes/customresourcedefinitions.gen.yaml"
if [[ -z "$dir" || ! -s "$src" ]]; then
	log "istio.io/api@${ISTIO_API_VERSION} holds no kubernetes/customresourcedefinitions.gen.yaml"
	exit 1
fi
mkdir -p "$(dirname "$file")"
cp "$src" "$file.tmp"
chmod 0644 "$file.tmp"
mv "$file.tmp" "$file"
log "CRDs: copied from istio.io/api@${ISTIO_API_VERSION}"
echo "$file"
