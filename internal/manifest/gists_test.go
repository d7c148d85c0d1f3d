package manifest

import (
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
`)},
		"gists/app.yaml":    {Data: []byte("apiVersion: v1\nkind: ConfigMap\ndata: {a: b}\n")},
		"gists/conf/a.conf": {Data: []byte("a")},
	}
	_, diags, err := LoadFS(fsys, "environments.bitesize")
	if err != nil {
		t.Fatal(err)
	}
	want := `environments.bitesize:12:13: environments[0].gists[1].files[1]: "gists/missing.txt" does not exist (gist paths are relative to the manifest's folder)
environments.bitesize:14:15: environments[0].gists[2].path: "nope.yaml" does not exist (gist paths are relative to the manifest's folder)
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
