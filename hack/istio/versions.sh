# Pinned Istio API module whose CRDs the mesh tests install; sourced by
# fetch.sh. Changing it changes the cache key, so a new copy follows. It
# must match the require in go.mod.
ISTIO_API_VERSION=v1.32.0
# Bump when the recipe changes in a way the version does not show.
RECIPE=1

istio_crds_file() {
	local cache="${ENVOP_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/envop}"
	echo "$cache/istio/api-${ISTIO_API_VERSION}_r${RECIPE}/customresourcedefinitions.gen.yaml"
}
