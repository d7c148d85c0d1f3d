package apply

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/envop/envop/internal/testcluster"
)

// TestRestartWritesNothing: a new Applier (an operator restart) recognises
// what the previous one applied from the hash annotation and its field
// manager's entry, and still corrects drift that happened meanwhile.
func TestRestartWritesNothing(t *testing.T) {
	ns := testcluster.Namespace(t)
	objs := appSet(t, ns)
	cfg := testcluster.Get(t).Config
	first, _ := newApplier(t, cfg, Options{Namespace: ns})
	requireCounts(t, first.Apply(t.Context(), objs, nil), map[Action]int{Created: len(objs)})

	restarted, writes := newApplier(t, cfg, Options{Namespace: ns})
	requireCounts(t, restarted.Apply(t.Context(), objs, nil), map[Action]int{Unchanged: len(objs)})
	if w := writes.reset(); len(w) != 0 {
		t.Errorf("first apply after a restart wrote %v", w)
	}

	editImage(t, ns, "web", "nginx:evil")
	again, writes := newApplier(t, cfg, Options{Namespace: ns})
	cs := again.Apply(t.Context(), objs, nil)
	requireCounts(t, cs, map[Action]int{Configured: 1, Unchanged: len(objs) - 1})
	if c, _ := cs.Find("Deployment", "web"); c.Action != Configured || image(t, ns, "web") != "nginx:1.27" {
		t.Errorf("drift before the restart not corrected: %s, image %s", c.Action, image(t, ns, "web"))
	}
	if w := writes.reset(); len(w) != 1 {
		t.Errorf("writes %v, want one", w)
	}
}

func TestOwnsAll(t *testing.T) {
	fields := `{"f:metadata":{"f:labels":{"f:a":{}}},"f:spec":{"f:replicas":{},"f:ports":{"k:{\"port\":80,\"protocol\":\"TCP\"}":{".":{},"f:port":{},"f:name":{}}},"f:finalizers":{"v:\"x\"":{}},"f:args":{}}}`
	base := func() map[string]any {
		return map[string]any{
			"apiVersion": "v1", "kind": "Thing",
			"metadata": map[string]any{"name": "n", "labels": map[string]any{"a": "1"}},
			"spec": map[string]any{
				"replicas":   int64(2),
				"ports":      []any{map[string]any{"port": int64(80), "name": "http"}},
				"finalizers": []any{"x"},
				"args":       []any{"--a", "--b"},
			},
		}
	}
	if !ownsAll(fields, base()) {
		t.Error("all fields owned, reported not")
	}
	cases := map[string]func(o map[string]any){
		"label": func(o map[string]any) { o["metadata"].(map[string]any)["labels"].(map[string]any)["b"] = "2" },
		"field": func(o map[string]any) { o["spec"].(map[string]any)["paused"] = true },
		"list key": func(o map[string]any) {
			o["spec"].(map[string]any)["ports"].([]any)[0].(map[string]any)["port"] = int64(81)
		},
		"item field": func(o map[string]any) {
			o["spec"].(map[string]any)["ports"].([]any)[0].(map[string]any)["appProtocol"] = "h2"
		},
		"set value": func(o map[string]any) { o["spec"].(map[string]any)["finalizers"] = []any{"y"} },
	}
	for name, change := range cases {
		o := base()
		change(o)
		if ownsAll(fields, o) {
			t.Errorf("%s: a field not owned reported owned", name)
		}
	}
}

// couchbase is the kind of the legacy custom resource in the goldens.
var couchbase = schema.GroupVersionKind{Group: "prsn.io", Version: "v1", Kind: "Couchbase"}

// TestCustomResources: a kind installed after the Applier started is found
// by refreshing discovery; a kind the server does not serve fails alone and
// is ignored by pruning.
func TestCustomResources(t *testing.T) {
	ns := testcluster.Namespace(t)
	objs := golden(t, ns, "basic.yaml", "legacy-custom-resource.yaml")
	a, _ := newApplier(t, testcluster.Get(t).Config, Options{Namespace: ns})
	requireCounts(t, a.Apply(t.Context(), objs[:1], nil), map[Action]int{Created: 1}) // discovery cached
	testcluster.InstallCRD(t, couchbase)

	cs := a.Apply(t.Context(), objs, nil)
	requireCounts(t, cs, map[Action]int{Failed: 1, Unchanged: 1, Created: len(objs) - 2})
	if c, _ := cs.Find("Sqs", "queue"); c.Action != Failed || !strings.Contains(c.Err.Error(), "Sqs queue") {
		t.Errorf("unserved kind: %v %v", c.Action, c.Err)
	}
	if last := cs.Changes[len(cs.Changes)-1]; last.Kind != "Couchbase" && last.Kind != "Sqs" {
		t.Errorf("custom resources not applied last: %v", cs.Changes)
	}
	pruned, err := a.Prune(t.Context(), without(objs, "Couchbase", "cb-1"))
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := pruned.Find("Couchbase", "cb-1"); c.Action != Pruned || len(pruned.Changes) != 1 {
		t.Errorf("prune: %v", pruned.Changes)
	}
}

// TestCustomResourceKindRememberedAfterRestart: a restarted Applier prunes a
// custom resource no desired object names: its inventory holds the kind.
// Without an inventory recorded (an upgrade from a version that kept none),
// the kinds the operator reads from its state are given to RememberKinds
// before the inventory is built.
func TestCustomResourceKindRememberedAfterRestart(t *testing.T) {
	ns := testcluster.Namespace(t)
	testcluster.InstallCRD(t, couchbase)
	objs := without(golden(t, ns, "basic.yaml", "legacy-custom-resource.yaml"), "Sqs", "queue")
	store := &memInventory{}
	first, _ := newApplier(t, testcluster.Get(t).Config, Options{Namespace: ns, Inventory: store})
	if cs := first.Apply(t.Context(), objs, nil); cs.Err() != nil {
		t.Fatal(cs.Err())
	}
	rest := without(objs, "Couchbase", "cb-1")

	restarted, _ := newApplier(t, testcluster.Get(t).Config, Options{Namespace: ns, Inventory: store})
	prunesCouchbase(t, "restarted", restarted, rest)

	if cs := first.Apply(t.Context(), objs, nil); cs.Err() != nil {
		t.Fatal(cs.Err())
	}
	upgraded, _ := newApplier(t, testcluster.Get(t).Config, Options{Namespace: ns})
	upgraded.RememberKinds(couchbase.GroupKind())
	prunesCouchbase(t, "upgraded", upgraded, rest)
}

func prunesCouchbase(t *testing.T, name string, a *Applier, desired []*unstructured.Unstructured) {
	t.Helper()
	pruned, err := a.Prune(t.Context(), desired)
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := pruned.Find("Couchbase", "cb-1"); c.Action != Pruned || len(pruned.Changes) != 1 {
		t.Errorf("%s: prune: %v", name, pruned.Changes)
	}
}
