package manifest

import (
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
