# Pinned versions of the local control plane; sourced by the build and
# cluster scripts. Changing one changes the cache key, so a new build follows.
KUBE_VERSION=v1.37.2
KUBE_VERSION_MAJOR=1
KUBE_VERSION_MINOR=37
ETCD_VERSION=v3.7.0
KWOK_VERSION=v0.8.0
# Bump when the build recipe changes in a way the versions do not show.
RECIPE=1

controlplane_bin_dir() {
	local cache="${ENVOP_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/envop}"
	echo "$cache/controlplane/k8s-${KUBE_VERSION}_etcd-${ETCD_VERSION}_kwok-${KWOK_VERSION}_r${RECIPE}/bin"
}
