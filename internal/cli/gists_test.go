package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/envop/envop/internal/manifest"
	"github.com/envop/envop/internal/testgit"
)

// writeTree writes files (slash paths) under a new folder and returns it.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	testgit.WriteFiles(t, root, files)
	return root
}

// rootGistManifest keeps its manifest in deploy/ and names a gist file
// kept at the repository root, where the original looked for it.
var rootGistManifest = map[string]string{
	"deploy/environments.bitesize": `project: shop
environments:
  - name: dev
    namespace: shop-dev
    gists:
      - name: app-settings
        files: [conf/app.properties]
    services:
      - name: api
        version: 1.0.0
        volumes:
          - name: app-settings
            path: /etc/app
            type: configmap
`,
	"conf/app.properties": "greeting=hello\n",
}

// TestGistsFromTheRepositoryRoot: validate and render look a gist path up
// in the manifest's folder, then at the root of the git repository the
// file is in (as the operator does in its checkout), saying so.
func TestGistsFromTheRepositoryRoot(t *testing.T) {
	root := writeTree(t, rootGistManifest)
	if err := os.Mkdir(filepath.Join(root, ".git"), 0o755); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(root, "deploy", "environments.bitesize")
	code, out, errOut := run(t, "validate", file)
	want := file + `:7:17: warning: environments[0].gists[0].files[0]: "conf/app.properties" is read from the repository root: the manifest's folder (deploy) has no such path`
	if code != ExitOK || !strings.Contains(errOut, want) || !strings.Contains(out, "valid") {
		t.Errorf("validate: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, out, errOut = run(t, "render", "-f", file, "--env", "dev")
	if code != ExitOK || !strings.Contains(out, "app.properties: |\n    greeting=hello") {
		t.Errorf("render: exit %d, stderr %q, stdout:\n%s", code, errOut, out)
	}
}

// TestGistsOutsideARepository: without a git repository above it, the
// manifest's folder is the repository: nothing above it is read.
func TestGistsOutsideARepository(t *testing.T) {
	root := writeTree(t, rootGistManifest)
	file := filepath.Join(root, "deploy", "environments.bitesize")
	code, _, errOut := run(t, "validate", file)
	want := file + `:7:17: environments[0].gists[0].files[0]: "conf/app.properties" does not exist`
	if code != ExitFailed || !strings.Contains(errOut, want) {
		t.Errorf("validate: exit %d, stderr %q", code, errOut)
	}
}

// TestRenderRefusesAnotherNamespace: a service's namespace must be the one
// the environment is applied in, --namespace when it names none.
func TestRenderRefusesAnotherNamespace(t *testing.T) {
	file := writeFile(t, `project: shop
environments:
  - name: dev
    services:
      - name: api
        version: 1.0.0
        namespace: shop-dev
`)
	code, out, errOut := run(t, "render", "-f", file, "--env", "dev", "--namespace", "shop-dev")
	if code != ExitOK || !strings.Contains(out, "namespace: shop-dev") {
		t.Errorf("same namespace: exit %d, stderr %q", code, errOut)
	}
	code, out, errOut = run(t, "render", "-f", file, "--env", "dev", "--namespace", "shop-test")
	want := file + `:7:20: environments[0].services[0].namespace: "shop-dev" is not the namespace the operator runs in, "shop-test"`
	if code != ExitFailed || out != "" || !strings.Contains(errOut, want) {
		t.Errorf("another namespace: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

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

// TestGistsDirFromItsRoot: the gists of a gists repository are looked up
// at the root of the checkout alone, whatever folder the manifest is in,
// though the manifest's repository has the path at its root.
func TestGistsDirFromItsRoot(t *testing.T) {
	root := writeTree(t, map[string]string{
		"deploy/environments.bitesize": strings.Replace(gistsRepoManifest, "files: [config/app.properties]", "files: [conf/app.properties]", 1),
		"conf/app.properties":          "from=manifest\n",
	})
	if err := os.Mkdir(filepath.Join(root, ".git"), 0o755); err != nil {
		t.Fatal(err)
	}
	checkout := writeTree(t, map[string]string{
		"conf/app.properties":        "from=gists\n",
		"deploy/conf/app.properties": "from=the checkout's deploy\n",
	})
	file := filepath.Join(root, "deploy", "environments.bitesize")
	code, _, stderr := run(t, "validate", file, "--gists-dir", checkout)
	if code != 0 || stderr != "" {
		t.Errorf("validate: exit %d, stderr %q; want 0 and no warning", code, stderr)
	}
	code, stdout, stderr := run(t, "render", file, "--env", "dev", "--gists-dir", checkout)
	if code != 0 || !strings.Contains(stdout, "from=gists") || strings.Contains(stdout, "from=manifest") || strings.Contains(stdout, "checkout's deploy") {
		t.Errorf("render: exit %d, stderr %q, stdout:\n%s", code, stderr, stdout)
	}
}

// TestMigrateGistsDir: migrate renders the environment, so it reads the
// gists of a gists repository from --gists-dir, before reaching for the
// cluster.
func TestMigrateGistsDir(t *testing.T) {
	file, checkout := gistsSetup(t)
	code, _, stderr := run(t, "migrate", "--namespace", "shop-dev", "-f", file)
	if code != ExitFailed || !strings.Contains(stderr, "give a local checkout of it with --gists-dir DIR") {
		t.Errorf("without --gists-dir: exit %d, stderr %q", code, stderr)
	}
	kubeconfig := filepath.Join(t.TempDir(), "none")
	code, _, stderr = run(t, "migrate", "--namespace", "shop-dev", "-f", file, "--gists-dir", checkout, "--kubeconfig", kubeconfig)
	if code != ExitUsage || strings.Contains(stderr, "gists") || !strings.Contains(stderr, "none") {
		t.Errorf("with --gists-dir: exit %d, stderr %q; want the gists read and the kubeconfig refused", code, stderr)
	}
}
