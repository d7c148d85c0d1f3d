# Shared by hack/controlplane/build.sh and hack/dex/build.sh: build one
# binary into a cache directory unless it is there, with a heartbeat so a
# cold build (many minutes) never looks hung. Sourced, not run.

# cached_build PREFIX BIN_DIR MODULE_DIR PACKAGE NAME LDFLAGS
cached_build() {
	local prefix="$1" bin="$2" dir="$3" pkg="$4" name="$5" ldflags="$6"
	say() { printf '[%s] %s\n' "$prefix" "$*" >&2; }
	if [[ -x "$bin/$name" ]]; then
		say "$name: cached"
		return
	fi
	say "$name: building $pkg (cold builds take minutes)"
	local start=$SECONDS
	(cd "$dir" && go build -trimpath -ldflags "$ldflags" -o "$bin/$name.tmp" "$pkg") &
	local pid=$!
	while kill -0 "$pid" 2>/dev/null; do
		sleep 5
		if kill -0 "$pid" 2>/dev/null && (( (SECONDS - start) % 60 < 5 )); then
			say "$name: still building ($((SECONDS - start))s)"
		fi
	done
	if ! wait "$pid"; then
		say "$name: build failed"
		rm -f "$bin/$name.tmp"
		exit 1
	fi
	mv "$bin/$name.tmp" "$bin/$name"
	say "$name: built in $((SECONDS - start))s"
}
