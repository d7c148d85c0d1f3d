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

if [[ -x "$bin/dex" ]]; then
	log "dex: cached"
else
	log "dex: building github.com/dexidp/dex/cmd/dex ${DEX_VERSION} (a cold build takes about 8 minutes)"
	start=$SECONDS
	(cd "$here" && go build -trimpath \
		-ldflags "-s -w -X main.version=${DEX_VERSION}" \
		-o "$bin/dex.tmp" github.com/dexidp/dex/cmd/dex) &
	pid=$!
	while kill -0 "$pid" 2>/dev/null; do
		sleep 5
		if kill -0 "$pid" 2>/dev/null && (( (SECONDS - start) % 60 < 5 )); then
			log "dex: still building ($((SECONDS - start))s)"
		fi
	done
	if ! wait "$pid"; then
		log "dex: build failed"
		rm -f "$bin/dex.tmp"
		exit 1
	fi
	mv "$bin/dex.tmp" "$bin/dex"
	log "dex: built in $((SECONDS - start))s"
fi

log "ready in $bin"
echo "$bin"
