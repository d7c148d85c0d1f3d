package manifest

import (
	"io/fs"
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
	want := `environments.bitesize:12:13: environments[0].gists[1].files[1]: "gists/missing.txt" does not exist (gist paths are relative to the manifest's folder)
environments.bitesize:14:15: environments[0].gists[2].path: "nope.yaml" does not exist (gist paths are relative to the manifest's folder)
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
	files, err := ReadGistFiles(fsys, &env)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 1 || string(files["conf/a.conf"]) != "a" {
		t.Errorf("folder read %v, want conf/a.conf only (the link inside skipped)", files)
	}
	env.Gists = f.Environments[0].Gists[:1]
	if _, err := ReadGistFiles(fsys, &env); err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("reading through a link: %v", err)
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
	_, diags, err := LoadFSWithGists(fsys, "environments.bitesize", func(e *Environment) fs.FS {
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

	files, err := ReadGistFiles(gistsTree, &Environment{Gists: []Gist{{Name: "app", Files: []string{"k8s/app.conf"}}}})
	if err != nil || string(files["k8s/app.conf"]) != "gists'" {
		t.Errorf("ReadGistFiles from the gists tree: %q, %v", files, err)
	}
}
