package manifest

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
)

// Bounds on what gists may read: ConfigMaps hold at most 1 MiB anyway.
const (
	maxGistFileSize = 1 << 20
	maxGistFiles    = 1000
)

// ReadGistFiles reads the files the environment's gists name from fsys (the
// repository root), keyed by cleaned slash path, for render.Options.Files.
// Folders are read recursively.
func ReadGistFiles(fsys fs.FS, env *Environment) (map[string][]byte, error) {
	out := map[string][]byte{}
	for _, g := range env.Gists {
		paths := g.Files
		if g.Source != "" {
			paths = append([]string{g.Source}, paths...)
		}
		for _, p := range paths {
			if err := readGistPath(fsys, path.Clean(p), out); err != nil {
				return nil, fmt.Errorf("gist %q: %w", g.Name, err)
			}
		}
	}
	return out, nil
}

func readGistPath(fsys fs.FS, p string, out map[string][]byte) error {
	if !fs.ValidPath(p) {
		return fmt.Errorf("path %q is outside the repository", p)
	}
	return fs.WalkDir(fsys, p, func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !d.Type().IsRegular() {
			return nil
		}
		if len(out) >= maxGistFiles {
			return errors.New("too many files")
		}
		data, err := readBounded(fsys, name, maxGistFileSize)
		if err != nil {
			return err
		}
		out[name] = data
		return nil
	})
}
