package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/envop/envop/internal/manifest"
)

const gistsRepoManifest = `project: shop
environments:
  - name: dev
    namespace: shop-dev
    gists_repository:
      remote: https://git.example.com/shop/config.git
    gists:
      - name: app-config
        files: [config/app.properties]
    services:
      - name: api
        version: 1.0.0
        port: 8080
        volumes:
          - name: app-config
            path: /etc/app
            type: configmap
`

// gistsSetup writes the manifest with a file of the gist's path beside it,
// and a checkout of the gists repository with another content; it returns
// the manifest's path and the checkout's.
func gistsSetup(t *testing.T) (file, checkout string) {
	t.Helper()
	file = writeFile(t, gistsRepoManifest)
	checkout = t.TempDir()
	for dir, content := range map[string]string{filepath.Dir(file): "from=manifest\n", checkout: "from=gists\n"} {
		if err := os.MkdirAll(filepath.Join(dir, "config"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "config", "app.properties"), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return file, checkout
}

// TestValidateGistsDir: without --gists-dir the gists of a gists
// repository are not checked, and a warning says so; with it they are
// checked in the checkout.
func TestValidateGistsDir(t *testing.T) {
	file, checkout := gistsSetup(t)
	code, _, stderr := run(t, "validate", file)
	if code != 0 || !strings.Contains(stderr, "warning: environments[0].gists_repository: the gists' files were not checked") {
		t.Errorf("without --gists-dir: exit %d, stderr %q; want 0 and a warning", code, stderr)
	}
	code, _, stderr = run(t, "validate", file, "--gists-dir", checkout)
	if code != 0 || stderr != "" {
		t.Errorf("with --gists-dir: exit %d, stderr %q", code, stderr)
	}
	empty := t.TempDir()
	code, _, stderr = run(t, "validate", file, "--gists-dir", empty)
	if code != 1 || !strings.Contains(stderr, `files[0]: "config/app.properties" does not exist (gist paths are relative to the gists repository)`) {
		t.Errorf("a checkout without the file: exit %d, stderr %q", code, stderr)
	}
	code, _, stderr = run(t, "validate", file, "--gists-dir", filepath.Join(empty, "missing"))
	if code != 2 || !strings.Contains(stderr, "--gists-dir") {
		t.Errorf("a missing --gists-dir: exit %d, stderr %q", code, stderr)
	}
}

// TestRenderGistsDir: render needs the checkout, and reads the gist from
// it, not from the manifest's folder.
func TestRenderGistsDir(t *testing.T) {
	file, checkout := gistsSetup(t)
	code, _, stderr := run(t, "render", file, "--env", "dev")
	if code != 1 || !strings.Contains(stderr, "give a local checkout of it with --gists-dir DIR") ||
		!strings.Contains(stderr, "https://git.example.com/shop/config.git") {
		t.Errorf("without --gists-dir: exit %d, stderr %q", code, stderr)
	}
	code, stdout, stderr := run(t, "render", file, "--env", "dev", "--gists-dir", checkout)
	if code != 0 {
		t.Fatalf("with --gists-dir: exit %d, stderr %q", code, stderr)
	}
	if !strings.Contains(stdout, "from=gists") || strings.Contains(stdout, "from=manifest") {
		t.Errorf("the ConfigMap does not hold the checkout's file:\n%s", stdout)
	}
}

// TestDiffRequestGistsDir: the remote diff sends the gists of the checkout.
func TestDiffRequestGistsDir(t *testing.T) {
	file, checkout := gistsSetup(t)
	f, diags := manifest.Load(file, []byte(gistsRepoManifest))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if _, err := diffRequest(file, "", f.Environment("dev")); err == nil || !strings.Contains(err.Error(), "--gists-dir") {
		t.Errorf("without --gists-dir: %v", err)
	}
	req, err := diffRequest(file, checkout, f.Environment("dev"))
	if err != nil || req.Gists["config/app.properties"] != "from=gists\n" {
		t.Errorf("with --gists-dir: %v, gists %v", err, req.Gists)
	}
	if !remoteDiffFlags["gists-dir"] {
		t.Error("--gists-dir is refused with --endpoint")
	}
}
