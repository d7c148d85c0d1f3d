package manifest

import (
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
)

// TestGistFilesChecked: LoadFS reports every gist path that names nothing,
// at its line, and nothing for the paths that exist.
func TestGistFilesChecked(t *testing.T) {
	fsys := fstest.MapFS{
		"environments.bitesize": {Data: []byte(`project: demo
environments:
  - name: dev
    namespace: demo
    gists:
      - name: app
        type: ConfigMap
        path: gists/app.yaml
      - name: files
        files:
          - gists/conf
          - gists/missing.txt
      - name: gone
        path: nope.yaml
      - name: notcm
        path: gists/values.yaml
      - name: secret
        path: gists/secret.yaml
`)},
		"gists/values.yaml": {Data: []byte("x: 1\n")},
		"gists/secret.yaml": {Data: []byte("apiVersion: v1\nkind: Secret\ndata: {a: b}\n")},
		"gists/app.yaml":    {Data: []byte("apiVersion: v1\nkind: ConfigMap\ndata: {a: b}\n")},
		"gists/conf/a.conf": {Data: []byte("a")},
	}
	_, diags, err := LoadFS(fsys, "environments.bitesize")
	if err != nil {
		t.Fatal(err)
	}
	want := `environments.bitesize:12:13: environments[0].gists[1].files[1]: "gists/missing.txt" does not exist (gist paths are relative to the manifest's folder, else to the repository root)
environments.bitesize:14:15: environments[0].gists[2].path: "nope.yaml" does not exist (gist paths are relative to the manifest's folder, else to the repository root)
environments.bitesize:16:15: environments[0].gists[3].path: "gists/values.yaml" is not a ConfigMap manifest: error unmarshaling JSON: while decoding JSON: json: unknown field "x"
environments.bitesize:18:15: environments[0].gists[4].path: "gists/secret.yaml" is not a ConfigMap manifest: kind is "Secret"
`
	if got := diags.String(); got != want {
		t.Errorf("diagnostics:\n%s\nwant:\n%s", got, want)
	}
}

// TestVolumeItemsOriginalName: the original's item loads like items, with
// file modes written in octal.
func TestVolumeItemsOriginalName(t *testing.T) {
	f, diags := Load("e.bitesize", []byte(`project: demo
environments:
  - name: dev
    namespace: demo
    services:
      - name: web
        volumes:
          - name: cfg
            path: /etc/cfg
            type: configmap
            item:
              - {key: a.conf, path: conf/a.conf, mode: 0644}
`))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	items := f.Environments[0].Services[0].Volumes[0].Items
	if len(items) != 1 || items[0].Key != "a.conf" || items[0].FilePath != "conf/a.conf" || items[0].Mode == nil || *items[0].Mode != 0o644 {
		t.Errorf("items = %+v", items)
	}
	if strings.Contains(diags.String(), "item") {
		t.Errorf("diagnostics: %s", diags)
	}
}

// TestGistLinksRefused: a gist path through a symbolic link could read any
// file of the machine that renders; validation and reading both refuse it,
// while links inside a folder a gist reads are skipped.
func TestGistLinksRefused(t *testing.T) {
	dir := t.TempDir()
	outside := t.TempDir()
	write := func(name, data string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(outside, "secret.txt"), "host secret")
	write(filepath.Join(dir, "conf", "a.conf"), "a")
	write(filepath.Join(dir, "environments.bitesize"), `project: demo
environments:
  - name: dev
    namespace: demo
    gists:
      - name: through-folder
        files: [out/secret.txt]
      - name: file-link
        files: [lnk]
      - name: folder
        files: [conf]
`)
	for link, target := range map[string]string{"out": outside, "lnk": filepath.Join(outside, "secret.txt"),
		filepath.Join("conf", "inner"): filepath.Join(outside, "secret.txt")} {
		if err := os.Symlink(target, filepath.Join(dir, link)); err != nil {
			t.Fatal(err)
		}
	}
	fsys := os.DirFS(dir)
	f, diags, err := LoadFS(fsys, "environments.bitesize")
	if err != nil {
		t.Fatal(err)
	}
	got := diags.String()
	for _, want := range []string{
		`7:17: environments[0].gists[0].files[0]: "out/secret.txt": "out" is a symbolic link`,
		`9:17: environments[0].gists[1].files[0]: "lnk": "lnk" is a symbolic link`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("diagnostics lack %s:\n%s", want, got)
		}
	}
	if strings.Count(got, "\n") != 2 {
		t.Errorf("want two diagnostics, got:\n%s", got)
	}
	env := f.Environments[0]
	env.Gists = env.Gists[2:]
	files, err := ReadGistFiles(fsys, "environments.bitesize", &env, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 1 || string(files["conf/a.conf"]) != "a" {
		t.Errorf("folder read %v, want conf/a.conf only (the link inside skipped)", files)
	}
	env.Gists = f.Environments[0].Gists[:1]
	if _, err := ReadGistFiles(fsys, "environments.bitesize", &env, nil); err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("reading through a link: %v", err)
	}
}

// gistRepo is a repository whose manifest is in deploy/: one gist file is
// both there and at the root, others at the root only.
func gistRepo() fstest.MapFS {
	return fstest.MapFS{
		"deploy/environments.bitesize": {Data: []byte(`project: demo
environments:
  - name: dev
    namespace: demo
    gists:
      - name: both
        files: [conf/a.conf]
      - name: root-file
        files: [shared/b.conf]
      - name: root-manifest
        path: cm.yaml
      - name: root-folder
        files: [tree]
`)},
		"deploy/conf/a.conf": {Data: []byte("from the folder")},
		"conf/a.conf":        {Data: []byte("from the root")},
		"shared/b.conf":      {Data: []byte("b")},
		"cm.yaml":            {Data: []byte("apiVersion: v1\nkind: ConfigMap\ndata: {k: v}\n")},
		"tree/x":             {Data: []byte("x")},
		"tree/sub/y":         {Data: []byte("y")},
	}
}

// TestGistPathsFolderThenRoot: a gist path is read from the manifest's
// folder when it is there, else from the repository root (as the original
// read them), with a warning naming the path; files keep the path the gist
// wrote.
func TestGistPathsFolderThenRoot(t *testing.T) {
	fsys := gistRepo()
	f, diags, err := LoadFS(fsys, "deploy/environments.bitesize")
	if err != nil {
		t.Fatal(err)
	}
	if diags.HasErrors() {
		t.Fatalf("errors:\n%s", diags)
	}
	var lines []string
	for _, d := range diags {
		lines = append(lines, fmt.Sprintf("%d:%d: %s", d.Line, d.Col, d.Path))
		if !strings.Contains(d.Message, "is read from the repository root: the manifest's folder (deploy) has no such path") {
			t.Errorf("message: %s", d)
		}
	}
	want := "9:17: environments[0].gists[1].files[0]|11:15: environments[0].gists[2].path|13:17: environments[0].gists[3].files[0]"
	if got := strings.Join(lines, "|"); got != want {
		t.Errorf("warnings at %s, want %s", got, want)
	}
	files, err := ReadGistFiles(fsys, "deploy/environments.bitesize", &f.Environments[0], nil)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for k, v := range files {
		got[k] = string(v)
	}
	wantFiles := map[string]string{"conf/a.conf": "from the folder", "shared/b.conf": "b",
		"cm.yaml": "apiVersion: v1\nkind: ConfigMap\ndata: {k: v}\n", "tree/x": "x", "tree/sub/y": "y"}
	if !maps.Equal(got, wantFiles) {
		t.Errorf("files %v, want %v", got, wantFiles)
	}
}

// TestGistPathsAtTheRoot: with the manifest at the root, both places are
// one: no warning.
func TestGistPathsAtTheRoot(t *testing.T) {
	fsys := gistRepo()
	fsys["environments.bitesize"] = fsys["deploy/environments.bitesize"]
	_, diags, err := LoadFS(fsys, "environments.bitesize")
	if err != nil || len(diags) > 0 {
		t.Fatalf("err %v, diagnostics:\n%s", err, diags)
	}
}

// TestGistPathsStayInside: a path out of the repository is refused by
// validation, from a manifest in a folder too, and never read.
func TestGistPathsStayInside(t *testing.T) {
	fsys := gistRepo()
	fsys["deploy/environments.bitesize"] = &fstest.MapFile{Data: []byte(`project: demo
environments:
  - name: dev
    namespace: demo
    gists:
      - name: up
        files: [../shared/b.conf]
      - name: abs
        path: /cm.yaml
`)}
	f, diags, err := LoadFS(fsys, "deploy/environments.bitesize")
	if err != nil {
		t.Fatal(err)
	}
	want := `deploy/environments.bitesize:7:17: environments[0].gists[0].files[0]: must be a relative path inside the repository, got "../shared/b.conf"
deploy/environments.bitesize:9:15: environments[0].gists[1].path: must be a relative path inside the repository, got "/cm.yaml"
`
	if got := diags.String(); got != want {
		t.Errorf("diagnostics:\n%s\nwant:\n%s", got, want)
	}
	if _, err := ReadGistFiles(fsys, "deploy/environments.bitesize", &f.Environments[0], nil); err == nil || !strings.Contains(err.Error(), "outside the repository") {
		t.Errorf("read: %v", err)
	}
}

const withGistsRepository = `project: demo
environments:
  - name: dev
    namespace: demo
    gists_repository:
      remote: https://git.example.com/shop/config.git
      branch: main
    gists:
      - name: app
        files: [k8s/app.conf, k8s/missing.conf]
  - name: prod
    namespace: demo-prod
    gists:
      - name: app
        files: [k8s/app.conf]
`

// TestGistsRepositoryDecoded: remote and branch load into the environment.
func TestGistsRepositoryDecoded(t *testing.T) {
	f, diags := Load("e.bitesize", []byte(withGistsRepository))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	got := f.Environment("dev").GistsRepository
	if got == nil || got.Remote != "https://git.example.com/shop/config.git" || got.Branch != "main" || got.Path != "environments[0].gists_repository" {
		t.Fatalf("GistsRepository = %+v", got)
	}
	if f.Environment("prod").GistsRepository != nil {
		t.Error("an environment without gists_repository has one")
	}
}

// TestGistFilesOfAGistsRepository: the gists of an environment that names
// a gists repository are checked in its tree, not in the manifest's
// folder; without the tree they are not checked, and a warning says so.
func TestGistFilesOfAGistsRepository(t *testing.T) {
	fsys := fstest.MapFS{
		"environments.bitesize": {Data: []byte(withGistsRepository)},
		"k8s/app.conf":          {Data: []byte("manifest's")},
		"k8s/missing.conf":      {Data: []byte("only in the manifest's repository")},
	}
	gistsTree := fstest.MapFS{"k8s/app.conf": {Data: []byte("gists'")}}
	var asked []string
	f, diags, err := LoadFSWithGists(fsys, "environments.bitesize", func(e *Environment) fs.FS {
		asked = append(asked, e.Name)
		return gistsTree
	})
	if err != nil {
		t.Fatal(err)
	}
	want := `environments.bitesize:10:31: environments[0].gists[0].files[1]: "k8s/missing.conf" does not exist (gist paths are relative to the gists repository)
`
	if got := diags.String(); got != want {
		t.Errorf("diagnostics:\n%s\nwant:\n%s", got, want)
	}
	if strings.Join(asked, ",") != "dev" {
		t.Errorf("trees asked for %v, want dev's alone", asked)
	}

	for name, gists := range map[string]GistTree{"no trees": nil, "no tree for dev": func(*Environment) fs.FS { return nil }} {
		_, diags, err = LoadFSWithGists(fsys, "environments.bitesize", gists)
		if err != nil {
			t.Fatal(err)
		}
		if diags.HasErrors() || len(diags) != 1 || !strings.Contains(diags[0].String(), "6:7: warning: environments[0].gists_repository: the gists' files were not checked") {
			t.Errorf("%s: diagnostics %s, want one warning that dev's gists were not checked", name, diags)
		}
	}

	dev := f.Environment("dev")
	dev.Gists[0].Files = dev.Gists[0].Files[:1]
	files, err := ReadGistFiles(fsys, "environments.bitesize", dev, func(*Environment) fs.FS { return gistsTree })
	if err != nil || string(files["k8s/app.conf"]) != "gists'" {
		t.Errorf("ReadGistFiles from the gists tree: %q, %v", files, err)
	}
	if _, err := ReadGistFiles(fsys, "environments.bitesize", dev, nil); err == nil || !strings.Contains(err.Error(), "the gists repository https://git.example.com/shop/config.git was not read") {
		t.Errorf("ReadGistFiles without the gists tree: %v", err)
	}
}

// TestGistsRepositoryPathsFromItsRoot: in a gists repository, gist paths
// are relative to its root alone: the manifest's folder, a folder of
// another repository, is not looked in first, and no warning is given.
func TestGistsRepositoryPathsFromItsRoot(t *testing.T) {
	fsys := fstest.MapFS{"deploy/environments.bitesize": {Data: []byte(withGistsRepository)}}
	gistsTree := fstest.MapFS{
		"k8s/app.conf":            {Data: []byte("root")},
		"deploy/k8s/app.conf":     {Data: []byte("deploy")},
		"deploy/k8s/missing.conf": {Data: []byte("deploy only")},
	}
	gists := func(*Environment) fs.FS { return gistsTree }
	f, diags, err := LoadFSWithGists(fsys, "deploy/environments.bitesize", gists)
	if err != nil {
		t.Fatal(err)
	}
	want := `deploy/environments.bitesize:10:31: environments[0].gists[0].files[1]: "k8s/missing.conf" does not exist (gist paths are relative to the gists repository)
deploy/environments.bitesize:15:17: environments[1].gists[0].files[0]: "k8s/app.conf" does not exist (gist paths are relative to the manifest's folder, else to the repository root)
`
	if got := diags.String(); got != want {
		t.Errorf("diagnostics:\n%s\nwant:\n%s", got, want)
	}
	dev := f.Environment("dev")
	dev.Gists[0].Files = dev.Gists[0].Files[:1]
	files, err := ReadGistFiles(fsys, "deploy/environments.bitesize", dev, gists)
	if err != nil || len(files) != 1 || string(files["k8s/app.conf"]) != "root" {
		t.Errorf("ReadGistFiles: %q, %v; want k8s/app.conf from the gists repository's root", files, err)
	}
}
