package e2e

import (
	"fmt"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/envop/envop/internal/testcluster"
)

// driftLimit is how soon a change by hand must be reverted (docs/operator.md#drift).
const driftLimit = 5 * time.Second

// TestDriftIsRevertedWithinSeconds: with the periodic resync an hour away,
// a field envop owns changed by hand and an object deleted by hand are put
// back within seconds, each with a DriftReverted Event on the object naming
// who changed it; an annotation another controller adds is left alone and
// costs no write.
func TestDriftIsRevertedWithinSeconds(t *testing.T) {
	t.Parallel()
	c := testcluster.Get(t)
	e := newEnv(t, basic) // no POD_NAME: Events on objects need no Pod
	ns := e.ns
	e.eventually(60*time.Second, "green", func() (bool, string) { return e.status().Status == "green", e.status().Status })
	deployments := c.Client.AppsV1().Deployments(ns)
	dep, err := deployments.Get(t.Context(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	image := dep.Spec.Template.Spec.Containers[0].Image

	// Someone else's annotation: not drift, no write.
	e.settle("writes of the first sync", e.writes.count) // its deploy outcomes and Events
	before := e.writes.count()
	patch := []byte(`{"metadata":{"annotations":{"example.com/owner":"team-a"}}}`)
	if _, err := deployments.Patch(t.Context(), "web", types.MergePatchType, patch, metav1.PatchOptions{FieldManager: "other-controller"}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	if w := e.writes.since(before); len(w) != 0 {
		t.Fatalf("an annotation by another manager caused %d writes: %v", len(w), w)
	}

	// A field envop owns, changed as kubectl edit would.
	patch = []byte(`{"spec":{"template":{"spec":{"containers":[{"name":"web","image":"attacker/web:evil"}]}}}}`)
	start := time.Now()
	if _, err := deployments.Patch(t.Context(), "web", types.StrategicMergePatchType, patch, metav1.PatchOptions{FieldManager: "kubectl-edit"}); err != nil {
		t.Fatal(err)
	}
	e.eventually(driftLimit, "image reverted", func() (bool, string) {
		d, err := deployments.Get(t.Context(), "web", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		got := d.Spec.Template.Spec.Containers[0].Image
		return got == image, got
	})
	t.Logf("field changed by hand reverted after %s", time.Since(start))
	d, err := deployments.Get(t.Context(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if d.Annotations["example.com/owner"] != "team-a" {
		t.Errorf("the other manager's annotation was removed: %v", d.Annotations)
	}
	e.wantEvent("Deployment", "web", "DriftReverted", "kubectl-edit")

	// An object deleted by hand.
	start = time.Now()
	if err := c.Client.CoreV1().Services(ns).Delete(t.Context(), "web", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	e.eventually(driftLimit, "service recreated", func() (bool, string) {
		_, err := c.Client.CoreV1().Services(ns).Get(t.Context(), "web", metav1.GetOptions{})
		return err == nil, fmt.Sprint(err)
	})
	t.Logf("object deleted by hand recreated after %s", time.Since(start))
	e.wantEvent("Service", "web", "DriftReverted", "deleted")
}
