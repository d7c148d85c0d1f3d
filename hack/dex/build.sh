#!/usr/bin/env bash
# Builds the pinned Dex OpenID Connect provider from the Go module proxy into a
# cache directory keyed by its version, and prints that directory's bin path
# on the last line of stdout. A warm cache costs nothing. With --print-dir it
# only prints that path. Dex stores in SQLite, so this build needs cgo (gcc).
set -euo pipefail

export GOTOOLCHAIN=go1.27.3
export CGO_ENABLED=1

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.sh
. "$here/versions.sh"

bin="$(dex_bin_dir)"
if [[ "${1:-}" == "--print-dir" ]]; then
	echo "$bin"
	exit 0
fi
mkdir -p "$bin"

log() { printf '[dex] %s\n' "$*" >&2; }

if ! grep -q "github.com/dexidp/dex ${DEX_MODULE_VERSION}" "$here/go.mod"; then
	log "go.mod does not require github.com/dexidp/dex ${DEX_MODULE_VERSION}; update versions.sh and go.mod together"
	exit 1
fi

# shellcheck source=../build-lib.sh
. "$here/../build-lib.sh"
cached_build dex "$bin" "$here" github.com/dexidp/dex/cmd/dex dex "-s -w -X main.version=${DEX_VERSION}"

log "ready in $bin"
echo "$bin"
