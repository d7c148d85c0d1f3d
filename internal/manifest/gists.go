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

// GistTree returns the tree of the gists repository an environment names
// (gists_repository), nil when it is not at hand.
type GistTree func(*Environment) fs.FS

// ReadsGistsRepository reports whether e's gists are read from the gists
// repository it names: it names one and has gists.
func (e *Environment) ReadsGistsRepository() bool {
	return e.GistsRepository != nil && len(e.Gists) > 0
}

// gistRoot returns where e's gist paths are looked up (see gistPath): in
// the tree of its gists repository, from gists, at that tree's root, when
// e reads one (a nil tree when it is not at hand); else in fsys, the
// manifest's repository, from manifest's folder.
func gistRoot(fsys fs.FS, manifest string, e *Environment, gists GistTree) (tree fs.FS, dir string) {
	if !e.ReadsGistsRepository() {
		return fsys, path.Dir(manifest)
	}
	if gists == nil {
		return nil, "."
	}
	return gists(e), "."
}

// ReadGistFiles reads the files the environment's gists name: from fsys,
// the repository, where manifest is the manifest's path, each gist path
// being looked up in the manifest's folder, then at the repository root;
// or, when env reads a gists repository, from its tree given by gists, at
// its root (see gistRoot). Files are keyed by the cleaned slash path the
// gist wrote, plus the path inside a folder, for render.Options.Files.
// Folders are read recursively.
func ReadGistFiles(fsys fs.FS, manifest string, env *Environment, gists GistTree) (map[string][]byte, error) {
	tree, dir := gistRoot(fsys, manifest, env, gists)
	if tree == nil {
		return nil, fmt.Errorf("the gists repository %s was not read", env.GistsRepository.Remote)
	}
	out := map[string][]byte{}
	for _, g := range env.Gists {
		paths := g.Files
		if g.Source != "" {
			paths = append([]string{g.Source}, paths...)
		}
		for _, p := range paths {
			if err := readGistPath(tree, dir, path.Clean(p), out); err != nil {
				return nil, fmt.Errorf("gist %q: %w", g.Name, err)
			}
		}
	}
	return out, nil
}

func readGistPath(fsys fs.FS, dir, p string, out map[string][]byte) error {
	if !fs.ValidPath(p) {
		return fmt.Errorf("path %q is outside the repository", p)
	}
	at, _ := gistPath(fsys, dir, p)
	if link, err := linkIn(fsys, at); err != nil {
		return err
	} else if link != "" {
		return fmt.Errorf("path %q: %s", p, linkProblem(link))
	}
	return fs.WalkDir(fsys, at, func(name string, d fs.DirEntry, err error) error {
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
		rel := name
		if at != "." {
			rel = strings.TrimPrefix(name, at)
		}
		out[path.Join(p, rel)] = data
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

// gistPath finds the gist path p (clean, inside the repository) in fsys:
// in dir, the manifest's folder, as documented, else at the repository
// root, where the original read gist paths. fromRoot says the root was
// used although dir is another folder. When neither has it, the path in
// dir is returned.
func gistPath(fsys fs.FS, dir, p string) (at string, fromRoot bool) {
	inDir := path.Join(dir, p)
	if dir == "." || exists(fsys, inDir) || !exists(fsys, p) {
		return inDir, false
	}
	return p, true
}

// exists reports whether name is in fsys, a symbolic link included.
func exists(fsys fs.FS, name string) bool {
	_, err := fs.Lstat(fsys, name)
	return err == nil
}

// checkGistFiles reports, at their place in the file, the gist paths that
// name nothing where they are looked up (see gistRoot), so that a missing
// file is a validation error with its line rather than a failure when
// rendering, and warns of those found at the repository root only. Paths
// validation refuses (absolute, with ..) are left to it. manifest is the
// manifest's path in fsys. An environment whose gists repository is not
// at hand is not checked, and a warning says so.
func checkGistFiles(fsys fs.FS, manifest string, f *File, gists GistTree) Diagnostics {
	if f == nil {
		return nil
	}
	v := &checker{f: f}
	for i := range f.Environments {
		e := &f.Environments[i]
		tree, dir := gistRoot(fsys, manifest, e, gists)
		if tree == nil {
			v.warnf(e.GistsRepository.Path, "the gists' files were not checked: the gists repository was not read (envop validate, render, diff and migrate read a local checkout of it given with --gists-dir)")
			continue
		}
		v.checkGistsIn(tree, dir, e)
	}
	return v.diags
}

// checkGistsIn checks the gist paths of e in tree, looked up from dir.
func (v *checker) checkGistsIn(tree fs.FS, dir string, e *Environment) {
	where := "the manifest's folder, else to the repository root"
	if e.ReadsGistsRepository() {
		where = "the gists repository"
	}
	// check reports a path that cannot be read and returns where it is
	// read from, "" when it cannot be.
	check := func(p, file string) string {
		clean := path.Clean(file)
		if file == "" || strings.HasPrefix(file, "/") || strings.Contains("/"+file+"/", "/../") || !fs.ValidPath(clean) {
			return ""
		}
		at, fromRoot := gistPath(tree, dir, clean)
		if _, err := fs.Stat(tree, at); errors.Is(err, fs.ErrNotExist) {
			v.errorf(p, "%q does not exist (gist paths are relative to %s)", file, where)
		} else if err != nil {
			v.errorf(p, "cannot read %q: %v", file, err)
		} else if link, err := linkIn(tree, at); err != nil {
			v.errorf(p, "cannot read %q: %v", file, err)
		} else if link != "" {
			v.errorf(p, "%q: %s", file, linkProblem(link))
		} else {
			if fromRoot {
				v.warnf(p, "%q is read from the repository root: the manifest's folder (%s) has no such path; gist paths are looked up there first, then at the root, where the original read them", file, dir)
			}
			return at
		}
		return ""
	}
	for _, g := range e.Gists {
		if p := joinPath(g.Path, "path"); g.Source != "" {
			if at := check(p, g.Source); at != "" {
				raw, err := readBounded(tree, at, maxGistFileSize)
				if err == nil {
					_, _, err = ConfigMapData(raw)
				}
				if err != nil {
					v.errorf(p, "%q is not a ConfigMap manifest: %v", g.Source, err)
				}
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
