package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeTree writes files (slash paths) under a new folder and returns it.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for name, content := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
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
