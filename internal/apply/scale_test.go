package apply

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/envop/envop/internal/manifest"
	"github.com/envop/envop/internal/render"
	"github.com/envop/envop/internal/testcluster"
)

// services renders an environment of n services, each a Deployment, a
// Service, an Ingress and an HPA.
func services(t testing.TB, ns string, n int) []*unstructured.Unstructured {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "project: big\nenvironments:\n  - name: %s\n    namespace: %s\n    services:\n", testEnv, ns)
	for i := range n {
		fmt.Fprintf(&b, "      - name: svc-%d\n        version: 1.%d.0\n        port: 8080\n        external_url: svc-%d.example.com\n", i, i, i)
		b.WriteString("        hpa:\n          min_replicas: 1\n          max_replicas: 4\n          metric:\n            name: cpu\n            target_average_utilization: 60\n")
	}
	f, diags := manifest.Load("big.bitesize", []byte(b.String()))
	if diags.HasErrors() {
		t.Fatal(diags.Errors())
	}
	res, err := render.Render(&f.Environments[0], f.Project, render.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Objects) != 4*n {
		t.Fatalf("%d objects rendered, want %d", len(res.Objects), 4*n)
	}
	return res.Objects
}

// TestApply100Services measures a 100-service environment: the first
// apply, a no-op resync (zero writes), and the same after a restart.
func TestApply100Services(t *testing.T) {
	if testing.Short() {
		t.Skip("measures a large environment")
	}
	ns := testcluster.Namespace(t)
	objs := services(t, ns, 100)
	cfg := testcluster.Get(t).Config
	a, writes := newApplier(t, cfg, Options{Namespace: ns})

	start := time.Now()
	requireCounts(t, a.Apply(t.Context(), objs, nil), map[Action]int{Created: len(objs)})
	first := time.Since(start)
	created := len(writes.reset())

	start = time.Now()
	requireCounts(t, a.Apply(t.Context(), objs, nil), map[Action]int{Unchanged: len(objs)})
	resync := time.Since(start)
	if w := writes.reset(); len(w) != 0 {
		t.Errorf("no-op resync wrote %d times", len(w))
	}

	restarted, writes := newApplier(t, cfg, Options{Namespace: ns})
	start = time.Now()
	requireCounts(t, restarted.Apply(t.Context(), objs, nil), map[Action]int{Unchanged: len(objs)})
	afterRestart := time.Since(start)
	if w := writes.reset(); len(w) != 0 {
		t.Errorf("resync after a restart wrote %d times", len(w))
	}
	t.Logf("100 services, %d objects: first apply %s (%d writes), no-op resync %s (0 writes), first resync after a restart %s (0 writes)",
		len(objs), first.Round(time.Millisecond), created, resync.Round(time.Millisecond), afterRestart.Round(time.Millisecond))
}
