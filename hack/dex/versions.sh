# Pinned Dex version for the auth tests; sourced by build.sh. Changing it
# changes the cache key, so a new build follows. DEX_MODULE_VERSION must match
# the require in go.mod (v0.0.0-20260303133905-11d2eeb52b42 is Dex v2.45.1).
DEX_VERSION=v2.45.1
DEX_MODULE_VERSION=v0.0.0-20260303133905-11d2eeb52b42
# Bump when the build recipe changes in a way the versions do not show.
RECIPE=1

dex_bin_dir() {
	local cache="${ENVOP_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/envop}"
	echo "$cache/dex/dex-${DEX_VERSION}_r${RECIPE}/bin"
}
