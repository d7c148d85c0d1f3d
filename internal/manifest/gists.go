package manifest

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
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

// checkGistFiles reports, at their place in the file, the gist paths that
// name nothing in fsys, so that a missing file is a validation error with
// its line rather than a failure when rendering. Paths validation refuses
// (absolute, with ..) are left to it.
func checkGistFiles(fsys fs.FS, f *File) Diagnostics {
	if f == nil {
		return nil
	}
	v := &checker{f: f}
	check := func(p, file string) {
		clean := path.Clean(file)
		if file == "" || strings.HasPrefix(file, "/") || strings.Contains("/"+file+"/", "/../") || !fs.ValidPath(clean) {
			return
		}
		if _, err := fs.Stat(fsys, clean); errors.Is(err, fs.ErrNotExist) {
			v.errorf(p, "%q does not exist (gist paths are relative to the manifest's folder)", file)
		} else if err != nil {
			v.errorf(p, "cannot read %q: %v", file, err)
		}
	}
	for i := range f.Environments {
		for _, g := range f.Environments[i].Gists {
			check(joinPath(g.Path, "path"), g.Source)
			for j, file := range g.Files {
				check(itemPath(joinPath(g.Path, "files"), j), file)
			}
		}
	}
	return v.diags
}
