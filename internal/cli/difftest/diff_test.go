// Package difftest tests `envop diff` against a real control plane; it
// lives apart so the rest of the CLI's tests need no cluster.
package difftest

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/envop/envop/internal/apply"
	"github.com/envop/envop/internal/cli"
	"github.com/envop/envop/internal/state"
	"github.com/envop/envop/internal/testcluster"
)

func TestMain(m *testing.M) { os.Exit(testcluster.SharedMain(m)) }

const manifestTemplate = `project: shop
environments:
  - name: dev
    namespace: NAMESPACE
    services:
      - name: web
        version: "WEB_VERSION"
        port: 8080
WORKER`

const worker = `      - name: worker
        version: "1.0"
`

func writeManifest(t *testing.T, dir, ns, webVersion string, withWorker bool) string {
	t.Helper()
	w := ""
	if withWorker {
		w = worker
	}
	content := strings.NewReplacer("NAMESPACE", ns, "WEB_VERSION", webVersion, "WORKER", w).Replace(manifestTemplate)
	path := filepath.Join(dir, "environments.bitesize")
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := cli.Run(t.Context(), cli.Streams{In: strings.NewReader(""), Out: &out, Err: &errOut}, args)
	return code, out.String(), errOut.String()
}

// applyFile renders the file with `envop render` and applies it as the
// operator does.
func applyFile(t *testing.T, file, ns string) {
	t.Helper()
	code, out, errOut := run(t, "render", "-f", file, "--env", "dev", "-o", "json")
	if code != 0 {
		t.Fatalf("render: exit %d: %s", code, errOut)
	}
	var list unstructured.UnstructuredList
	if err := json.Unmarshal([]byte(out), &list.Object); err != nil {
		t.Fatalf("render output: %v", err)
	}
	var objs []*unstructured.Unstructured
	for _, item := range list.Object["items"].([]any) {
		objs = append(objs, &unstructured.Unstructured{Object: item.(map[string]any)})
	}
	a, err := apply.New(testcluster.Get(t).Config, apply.Options{Namespace: ns, Environment: "dev"})
	if err != nil {
		t.Fatal(err)
	}
	for _, ch := range a.Apply(t.Context(), objs, nil).Changes {
		if ch.Err != nil {
			t.Fatalf("apply: %v", ch.Err)
		}
	}
}

func TestDiff(t *testing.T) {
	c := testcluster.Get(t)
	ns := testcluster.Namespace(t)
	dir := t.TempDir()
	diff := func(file string, extra ...string) (int, string, string) {
		return run(t, append([]string{"diff", "-f", file, "--env", "dev", "--kubeconfig", c.Kubeconfig}, extra...)...)
	}

	file := writeManifest(t, dir, ns, "1.0", true)
	code, out, errOut := diff(file)
	if code != 1 {
		t.Fatalf("empty namespace: exit %d, want 1\n%s%s", code, out, errOut)
	}
	for _, want := range []string{"+ created Deployment web", "+ created Service web", "+ created Deployment worker", "+      - image: web:1.0"} {
		if !strings.Contains(out, want) {
			t.Errorf("empty namespace: output lacks %q:\n%s", want, out)
		}
	}

	applyFile(t, file, ns)
	code, out, errOut = diff(file)
	if code != 0 || !strings.Contains(out, "0 to create, 0 to change, 0 to prune") {
		t.Fatalf("after apply: exit %d, want 0\n%s%s", code, out, errOut)
	}

	changed := writeManifest(t, t.TempDir(), ns, "1.1", false)
	code, out, errOut = diff(changed)
	if code != 1 {
		t.Fatalf("changed file: exit %d, want 1\n%s%s", code, out, errOut)
	}
	for _, want := range []string{
		"~ configured Deployment web", "-      - image: web:1.0", "+      - image: web:1.1",
		"~ configured Service web", "- pruned Deployment worker", "0 to create, 2 to change, 2 to prune",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("changed file: output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "managedFields") || strings.Contains(out, "resourceVersion") || strings.Contains(out, apply.AnnotationAppliedHash) {
		t.Errorf("server-managed fields in the diff:\n%s", out)
	}
}

// TestDiffState: a version deployed through the API since git last set
// one stays (the latest intent wins), so the diff shows the sync moving
// the cluster to it; --ignore-state compares the file alone.
func TestDiffState(t *testing.T) {
	c := testcluster.Get(t)
	ns := testcluster.Namespace(t)
	file := writeManifest(t, t.TempDir(), ns, "1.0", false)
	applyFile(t, file, ns)
	store := state.NewStore(c.Client, ns, "dev")
	if err := store.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	_, err := store.Update(t.Context(), "web", func(s *state.Service) error {
		s.ApplyGit("web", "1.0", "r1", time.Now())
		s.SetIntent("web", state.Intent{Version: "0.9", Source: state.SourceAPI, At: time.Now()})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"diff", "-f", file, "--env", "dev", "--kubeconfig", c.Kubeconfig}
	code, out, errOut := run(t, args...)
	if code != 1 || !strings.Contains(out, "+      - image: web:0.9") {
		t.Errorf("with state: exit %d, want 1 and image 0.9\n%s%s", code, out, errOut)
	}
	if code, out, errOut := run(t, append(args, "--ignore-state")...); code != 0 {
		t.Errorf("--ignore-state: exit %d, want 0\n%s%s", code, out, errOut)
	}
}

func TestDiffErrors(t *testing.T) {
	c := testcluster.Get(t)
	ns := testcluster.Namespace(t)
	file := writeManifest(t, t.TempDir(), ns, "1.0", false)
	invalid := filepath.Join(t.TempDir(), "environments.bitesize")
	_ = os.WriteFile(invalid, []byte("project: shop\nenvironments:\n  - name: dev\n    namespace: x\n    services:\n      - nme: web\n"), 0o644)
	for name, args := range map[string][]string{
		"no env":         {"diff", "-f", file, "--kubeconfig", c.Kubeconfig},
		"unknown env":    {"diff", "-f", file, "--env", "qa", "--kubeconfig", c.Kubeconfig},
		"no file":        {"diff", "--env", "dev", "--kubeconfig", c.Kubeconfig},
		"bad kubeconfig": {"diff", "-f", file, "--env", "dev", "--kubeconfig", filepath.Join(t.TempDir(), "missing")},
		"invalid file":   {"diff", "-f", invalid, "--env", "dev", "--kubeconfig", c.Kubeconfig},
		"bad flag":       {"diff", "-f", file, "--env", "dev", "--default-cpu-limit", "lots"},
	} {
		if code, out, errOut := run(t, args...); code != 2 {
			t.Errorf("%s: exit %d, want 2\n%s%s", name, code, out, errOut)
		}
	}
}

// TestDiffPrunesInventoryOnly: an object carrying the environment's labels
// that envop did not apply is outside the inventory, which the operator
// never prunes, so diff does not show it pruned.
func TestDiffPrunesInventoryOnly(t *testing.T) {
	c := testcluster.Get(t)
	ns := testcluster.Namespace(t)
	file := writeManifest(t, t.TempDir(), ns, "1.0", false)
	applyFile(t, file, ns)
	stray := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "stray", Namespace: ns, Labels: map[string]string{
		"app.kubernetes.io/managed-by": "envop", "envop.io/environment": "dev",
	}}}
	if _, err := c.Client.CoreV1().ConfigMaps(ns).Create(t.Context(), stray, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := run(t, "diff", "-f", file, "--env", "dev", "--kubeconfig", c.Kubeconfig)
	if code != 0 || strings.Contains(out, "stray") {
		t.Errorf("exit %d, want 0 without the stray ConfigMap\n%s%s", code, out, errOut)
	}
}

// TestDiffTellsNotOwned: a hand-made Service web in the way keeps a sync
// from applying anything of web (NotOwned), so diff shows no change of web
// but the refusal (exit 2), and the other services as usual; with adopt:
// true on web the sync takes the Service over, and so does the diff.
func TestDiffTellsNotOwned(t *testing.T) {
	c := testcluster.Get(t)
	ns := testcluster.Namespace(t)
	dir := t.TempDir()
	file := writeManifest(t, dir, ns, "1.0", true)
	handMade := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http-8080", Port: 8080}}}}
	if _, err := c.Client.CoreV1().Services(ns).Create(t.Context(), handMade, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := run(t, "diff", "-f", file, "--env", "dev", "--kubeconfig", c.Kubeconfig)
	if code != 2 {
		t.Fatalf("exit %d, want 2 (web cannot be applied)\n%s%s", code, out, errOut)
	}
	if strings.Contains(out, "Deployment web") || strings.Contains(out, "Service web") {
		t.Errorf("diff shows changes of web, which a sync would not apply:\n%s", out)
	}
	if !strings.Contains(out, "+ created Deployment worker") {
		t.Errorf("diff lacks the other service:\n%s", out)
	}
	if !strings.Contains(errOut, "Service web exists and was not created by envop") {
		t.Errorf("stderr does not tell why web is not compared:\n%s", errOut)
	}

	content, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	adopting := strings.Replace(string(content), "port: 8080\n", "port: 8080\n        adopt: true\n", 1)
	if err := os.WriteFile(file, []byte(adopting), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = run(t, "diff", "-f", file, "--env", "dev", "--kubeconfig", c.Kubeconfig)
	if code != 1 || !strings.Contains(out, "~ configured Service web") || !strings.Contains(out, "+ created Deployment web") {
		t.Errorf("adopt: true: exit %d, want 1 with web taken over\n%s%s", code, out, errOut)
	}
}
