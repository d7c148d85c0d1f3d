package operator

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/envop/envop/internal/source"
)

func writeKubeconfig(t *testing.T, dir, name, server string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	data := `apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: "` + server + `"}
users:
- name: u
  user: {token: t}
contexts:
- name: x
  context: {cluster: c, user: u, namespace: shop}
current-context: x
`
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestRestConfigKubeconfig(t *testing.T) {
	dir := t.TempDir()
	a := writeKubeconfig(t, dir, "a", "https://a.example:6443")
	b := writeKubeconfig(t, dir, "b", "https://b.example:6443")
	for _, tt := range []struct{ kubeconfig, host string }{
		{a, "https://a.example:6443"},
		{b + string(os.PathListSeparator) + a, "https://b.example:6443"}, // KUBECONFIG's list: the first wins
	} {
		cfg, err := RestConfig(tt.kubeconfig, "")
		if err != nil || cfg.Host != tt.host || cfg.UserAgent != "envop" {
			t.Errorf("RestConfig(%q) = %v, %v; want host %s", tt.kubeconfig, cfg, err, tt.host)
		}
	}
	if _, err := RestConfig(filepath.Join(dir, "missing"), ""); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("a missing kubeconfig: %v, want an error naming it", err)
	}
}

func TestValidateRefusesARegistryWithAScheme(t *testing.T) {
	o := Options{Namespace: "shop", Environment: "dev", GitRepo: "file:///repo"}
	o.Render.Registry = "https://registry.example.com/"
	err := o.Validate()
	if err == nil || !strings.Contains(err.Error(), "give registry.example.com") {
		t.Errorf("Validate() = %v, want the registry refused with what to give instead", err)
	}
	o.Render.Registry = "registry.example.com:5000"
	if err := o.Validate(); err != nil {
		t.Errorf("a host and port: %v", err)
	}
}

func TestLocateGists(t *testing.T) {
	const file = `project: shop
environments:
  - name: dev
    namespace: shop-dev
    gists_repository: {remote: "https://git.example.com/shop/config.git", branch: main}
    gists: [{name: cfg, files: [app.conf]}]
  - name: bare
    namespace: shop-bare
    gists_repository: {remote: "https://git.example.com/shop/config.git"}
  - name: prod
    namespace: shop-prod
`
	tree := func(content string) fs.FS {
		return fstest.MapFS{"envs/environments.bitesize": {Data: []byte(content)}}
	}
	for _, tt := range []struct {
		name, env, content string
		want               source.Ref
	}{
		{"named", "dev", file, source.Ref{URL: "https://git.example.com/shop/config.git", Branch: "main"}},
		{"no gists: nothing to fetch", "bare", file, source.Ref{}},
		{"none named", "prod", file, source.Ref{}},
		{"another environment's", "nope", file, source.Ref{}},
		{"a file with errors names none", "dev", file + "  - name: Bad Name\n", source.Ref{}},
		{"no file", "dev", "", source.Ref{}},
	} {
		fsys := tree(tt.content)
		if tt.content == "" {
			fsys = fstest.MapFS{}
		}
		if got := locateGists("envs/environments.bitesize", tt.env)(fsys); got != tt.want {
			t.Errorf("%s: %+v, want %+v", tt.name, got, tt.want)
		}
	}
}

func TestValidateChecksTheBranch(t *testing.T) {
	o := Options{Namespace: "shop", Environment: "dev", GitRepo: "file:///repo"}
	o.Git.Branch = "release..1"
	if err := o.Validate(); err == nil || !strings.Contains(err.Error(), `--git-branch (GIT_BRANCH) "release..1"`) {
		t.Errorf("Validate() = %v, want the branch refused", err)
	}
	o.Git.Branch = "release/1.2"
	if err := o.Validate(); err != nil {
		t.Errorf("a valid branch: %v", err)
	}
}
