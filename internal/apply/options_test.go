package apply

import (
	"slices"
	"testing"

	"github.com/envop/envop/internal/render"
)

func TestOptionDefaults(t *testing.T) {
	o, err := Options{Namespace: "ns", Environment: "dev"}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if o.FieldManager != "envop" || o.QPS != DefaultQPS || o.Burst != DefaultBurst || o.Workers != 8 || o.Logger == nil {
		t.Errorf("defaults: %+v", o)
	}
	for _, bad := range []Options{{Environment: "dev"}, {Namespace: "ns"}} {
		if _, err := New(nil, bad); err == nil {
			t.Errorf("New(%+v) accepted", bad)
		}
	}
}

// TestEveryRenderedKindHasAGroup: pruning lists every kind the renderer
// produces, so each needs its API group here.
func TestEveryRenderedKindHasAGroup(t *testing.T) {
	for _, kind := range render.KindOrder {
		if _, ok := kindGroups[kind]; !ok {
			t.Errorf("no API group for %s", kind)
		}
	}
}

func TestStages(t *testing.T) {
	objs := golden(t, "ns", "basic.yaml", "volumes.yaml", "access.yaml", "legacy-custom-resource.yaml")
	want := [][]string{{"ConfigMap", "PersistentVolumeClaim", "Role"}, {"RoleBinding"}, {"Deployment"},
		{"Service", "Ingress", "HorizontalPodAutoscaler"}, {"Couchbase", "Sqs"}}
	got := stages(objs)
	if len(got) != len(want) {
		t.Fatalf("%d stages, want %d", len(got), len(want))
	}
	for i, stage := range got {
		for _, obj := range stage {
			if !slices.Contains(want[i], obj.GetKind()) {
				t.Errorf("stage %d holds %s", i, obj.GetKind())
			}
		}
	}
}
