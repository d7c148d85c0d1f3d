package cli

import (
	"cmp"
	"fmt"
	"io/fs"
	"os"

	"github.com/envop/envop/internal/manifest"
)

// gistsDirUsage is the help of --gists-dir, a flag of validate, render and
// diff: they fetch no repository, so the gists repository an environment
// names (gists_repository) is read from a local checkout of it.
const gistsDirUsage = "local checkout of the gists repository the environment names (gists_repository), read as it is on disk"

// gistsTree is the loader's view of --gists-dir: the tree of the gists
// repository of every environment that names one; nil without the flag,
// which leaves those gists unchecked (with a warning).
func gistsTree(dir string) manifest.GistTree {
	if dir == "" {
		return nil
	}
	return func(*manifest.Environment) fs.FS { return os.DirFS(dir) }
}

// checkGistsDir refuses a --gists-dir that is not a folder.
func checkGistsDir(dir string) error {
	if dir == "" {
		return nil
	}
	st, err := os.Stat(dir)
	if err != nil {
		return exitf(ExitUsage, "--gists-dir: %v", err)
	}
	if !st.IsDir() {
		return exitf(ExitUsage, "--gists-dir %s: not a folder", dir)
	}
	return nil
}

// readGists reads the gist files of env as the operator does (see
// manifest.ReadGistFiles): from the git repository the manifest file is
// in, or from --gists-dir when env reads a gists repository, which
// rendering cannot do without.
func readGists(file, gistsDir string, env *manifest.Environment) (map[string][]byte, error) {
	if env.ReadsGistsRepository() && gistsDir == "" {
		return nil, fmt.Errorf("environment %q reads its gists from %s (gists_repository), which is not fetched here: give a local checkout of it with --gists-dir DIR",
			env.Name, env.GistsRepository.Remote)
	}
	repo, name, err := repository(cmp.Or(file, manifest.DefaultFile))
	if err != nil {
		return nil, err
	}
	return manifest.ReadGistFiles(repo, name, env, gistsTree(gistsDir))
}
