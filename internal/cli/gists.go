package cli

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

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

// gistFiles reads the files env's gists name: from the manifest's folder,
// or from --gists-dir when env names a gists repository, which rendering
// cannot do without.
func gistFiles(file, gistsDir string, env *manifest.Environment) (map[string][]byte, error) {
	tree := os.DirFS(filepath.Dir(file))
	if env.GistsRepository != nil && len(env.Gists) > 0 {
		if gistsDir == "" {
			return nil, fmt.Errorf("environment %q reads its gists from %s (gists_repository), which is not fetched here: give a local checkout of it with --gists-dir DIR",
				env.Name, env.GistsRepository.Remote)
		}
		tree = os.DirFS(gistsDir)
	}
	return manifest.ReadGistFiles(tree, env)
}
