package manifest

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/envop/envop/internal/gitaddr"
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
	if link, err := linkIn(fsys, p); err != nil {
		return err
	} else if link != "" {
		return fmt.Errorf("path %q: %s", p, linkProblem(link))
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

// gistsRepository checks an environment's gists_repository: an address in
// a form the operator's --git-repo takes (gitaddr's rules), holding no
// credentials, and a valid branch name.
func (v *checker) gistsRepository(e *Environment) {
	r := e.GistsRepository
	if r == nil {
		return
	}
	rp := joinPath(r.Path, "remote")
	if v.required(rp, r.Remote) {
		if _, err := gitaddr.Parse(r.Remote, nil); err != nil {
			v.errorf(rp, "%v", err)
		} else if gitaddr.HasCredentials(r.Remote) {
			v.errorf(rp, "credentials in the address would be committed with the file: give them to the operator (GISTS_USER and GISTS_TOKEN, or GISTS_PRIVATE_KEY)")
		}
	}
	if r.Branch != "" { // none: the remote's HEAD
		if err := gitaddr.CheckBranch(r.Branch); err != nil {
			v.errorf(joinPath(r.Path, "branch"), "%v", err)
		}
	}
	if len(e.Gists) == 0 {
		v.warnf(r.Path, "the environment has no gists: the gists repository is not read")
	}
}

// GistTree returns the tree of the gists repository an environment names
// (gists_repository), nil when it is not at hand.
type GistTree func(*Environment) fs.FS

// checkGistFiles reports, at their place in the file, the gist paths that
// name nothing in their tree (fsys, or the environment's gists repository
// from gists), so that a missing file is a validation error with its line
// rather than a failure when rendering. Paths validation refuses (absolute,
// with ..) are left to it. An environment whose gists repository is not at
// hand is not checked, and a warning says so.
func checkGistFiles(fsys fs.FS, f *File, gists GistTree) Diagnostics {
	if f == nil {
		return nil
	}
	v := &checker{f: f}
	for i := range f.Environments {
		e := &f.Environments[i]
		tree, where := fsys, "the manifest's folder"
		if e.GistsRepository != nil && len(e.Gists) > 0 {
			tree, where = nil, "the gists repository"
			if gists != nil {
				tree = gists(e)
			}
			if tree == nil {
				v.warnf(e.GistsRepository.Path, "the gists' files were not checked: the gists repository was not read (envop validate, render and diff read a local checkout of it given with --gists-dir)")
				continue
			}
		}
		v.checkGistsIn(tree, where, e)
	}
	return v.diags
}

// checkGistsIn checks the gist paths of e against tree, where gist paths
// are relative to where.
func (v *checker) checkGistsIn(tree fs.FS, where string, e *Environment) {
	// check reports a path that cannot be read and says whether it can.
	check := func(p, file string) bool {
		clean := path.Clean(file)
		if file == "" || strings.HasPrefix(file, "/") || strings.Contains("/"+file+"/", "/../") || !fs.ValidPath(clean) {
			return false
		}
		if _, err := fs.Stat(tree, clean); errors.Is(err, fs.ErrNotExist) {
			v.errorf(p, "%q does not exist (gist paths are relative to %s)", file, where)
		} else if err != nil {
			v.errorf(p, "cannot read %q: %v", file, err)
		} else if link, err := linkIn(tree, clean); err != nil {
			v.errorf(p, "cannot read %q: %v", file, err)
		} else if link != "" {
			v.errorf(p, "%q: %s", file, linkProblem(link))
		} else {
			return true
		}
		return false
	}
	for _, g := range e.Gists {
		if p := joinPath(g.Path, "path"); check(p, g.Source) {
			raw, err := readBounded(tree, path.Clean(g.Source), maxGistFileSize)
			if err == nil {
				_, _, err = ConfigMapData(raw)
			}
			if err != nil {
				v.errorf(p, "%q is not a ConfigMap manifest: %v", g.Source, err)
			}
		}
		for j, file := range g.Files {
			check(itemPath(joinPath(g.Path, "files"), j), file)
		}
	}
}

// ConfigMapData reads a ConfigMap manifest kept in the repository (a gist's
// path) and returns its data; the gist gives its name and namespace.
func ConfigMapData(raw []byte) (map[string]string, map[string][]byte, error) {
	var cm corev1.ConfigMap
	if err := yaml.UnmarshalStrict(raw, &cm); err != nil {
		return nil, nil, err
	}
	if cm.Kind != "" && cm.Kind != "ConfigMap" {
		return nil, nil, fmt.Errorf("kind is %q", cm.Kind)
	}
	return cm.Data, cm.BinaryData, nil
}

// linkIn returns the first part of p (a valid fs path) that is a symbolic
// link, or "" when there is none. Links inside a folder a gist reads are
// skipped; a link on the path itself would be followed.
func linkIn(fsys fs.FS, p string) (string, error) {
	if p == "." {
		return "", nil
	}
	for i := 1; i <= len(p); i++ {
		if i < len(p) && p[i] != '/' {
			continue
		}
		info, err := fs.Lstat(fsys, p[:i])
		if err != nil {
			return "", err
		}
		if info.Mode()&fs.ModeSymlink != 0 {
			return p[:i], nil
		}
	}
	return "", nil
}

// linkProblem says why a path through a symbolic link is refused.
func linkProblem(link string) string {
	return fmt.Sprintf("%q is a symbolic link: gists read only the repository's own files and folders (a link could reach any file of the machine that renders, and the operator does not follow links)", link)
}
