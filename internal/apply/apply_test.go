package apply

import (
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/util/retry"

	"github.com/envop/envop/internal/testcluster"
)

// appSet is a realistic rendered environment: Deployments, Services,
// Ingresses, HPAs, ConfigMaps, claims, a Job and a CronJob.
func appSet(t *testing.T, ns string) []*unstructured.Unstructured {
	return golden(t, ns, "basic.yaml", "volumes.yaml", "jobs.yaml")
}

func TestApplyCreatesThenResyncWritesNothing(t *testing.T) {
	ns := testcluster.Namespace(t)
	objs := appSet(t, ns)
	a, writes := newApplier(t, testcluster.Get(t).Config, Options{Namespace: ns})

	cs := a.Apply(t.Context(), objs, nil)
	requireCounts(t, cs, map[Action]int{Created: len(objs), Failed: 0})
	if n := len(writes.reset()); n != len(objs) {
		t.Errorf("first apply made %d writes, want one per object (%d)", n, len(objs))
	}

	before := settledVersions(t, a, objs)
	cs = a.Apply(t.Context(), objs, nil)
	requireCounts(t, cs, map[Action]int{Unchanged: len(objs)})
	if w := writes.reset(); len(w) != 0 {
		t.Errorf("resync made %d write requests, want 0: %v", len(w), w)
	}
	after := settledVersions(t, a, objs)
	for k, v := range before {
		if after[k] != v {
			t.Errorf("%s: resourceVersion %s became %s", k, v, after[k])
		}
	}
	if cs.Writes() != 0 || cs.Err() != nil {
		t.Errorf("writes %d, err %v", cs.Writes(), cs.Err())
	}
}

func TestApplyOrderAndServiceLabel(t *testing.T) {
	ns := testcluster.Namespace(t)
	objs := appSet(t, ns)
	a, _ := newApplier(t, testcluster.Get(t).Config, Options{Namespace: ns})
	// Reverse the input: Apply must still stage by kind.
	rev := make([]*unstructured.Unstructured, len(objs))
	for i, o := range objs {
		rev[len(objs)-1-i] = o
	}
	cs := a.Apply(t.Context(), rev, nil)
	stageOf := func(kind string) int {
		return map[string]int{"ConfigMap": 0, "PersistentVolumeClaim": 0, "Deployment": 1, "Job": 1, "CronJob": 1}[kind] + map[string]int{"Service": 2, "Ingress": 2, "HorizontalPodAutoscaler": 2}[kind]
	}
	for i := 1; i < len(cs.Changes); i++ {
		if stageOf(cs.Changes[i].Kind) < stageOf(cs.Changes[i-1].Kind) {
			t.Errorf("%s applied after %s", cs.Changes[i], cs.Changes[i-1])
		}
	}
	if c, _ := cs.Find("Deployment", "api"); c.Service != "api" {
		t.Errorf("service of Deployment api: %q", c.Service)
	}
}

func TestChangedObjectIsTheOnlyWrite(t *testing.T) {
	ns := testcluster.Namespace(t)
	objs := appSet(t, ns)
	a, writes := newApplier(t, testcluster.Get(t).Config, Options{Namespace: ns})
	requireCounts(t, a.Apply(t.Context(), objs, nil), map[Action]int{Created: len(objs)})
	writes.reset()

	api := find(t, objs, "Deployment", "api")
	setImage(t, api, "registry.example.com/shop/api:1.4.3")
	cs := a.Apply(t.Context(), objs, nil)
	requireCounts(t, cs, map[Action]int{Configured: 1, Unchanged: len(objs) - 1})
	if c, _ := cs.Find("Deployment", "api"); c.Action != Configured {
		t.Errorf("Deployment api: %s", c.Action)
	}
	if w := writes.reset(); len(w) != 1 || !strings.HasSuffix(w[0], "/deployments/api") {
		t.Errorf("writes %v, want only Deployment api", w)
	}
}

func setImage(t *testing.T, obj *unstructured.Unstructured, image string) {
	t.Helper()
	containers, _, _ := unstructured.NestedSlice(obj.Object, "spec", "template", "spec", "containers")
	containers[0].(map[string]any)["image"] = image
	if err := unstructured.SetNestedSlice(obj.Object, containers, "spec", "template", "spec", "containers"); err != nil {
		t.Fatal(err)
	}
}

// TestDriftIsReverted: a field we own changed by another manager (as
// kubectl edit does) is put back by the next Apply.
func TestDriftIsReverted(t *testing.T) {
	ns := testcluster.Namespace(t)
	objs := appSet(t, ns)
	c := testcluster.Get(t)
	a, writes := newApplier(t, c.Config, Options{Namespace: ns})
	requireCounts(t, a.Apply(t.Context(), objs, nil), map[Action]int{Created: len(objs)})

	editImage(t, ns, "api", "evil:latest")
	writes.reset()
	cs := a.Apply(t.Context(), objs, nil)
	requireCounts(t, cs, map[Action]int{Configured: 1, Unchanged: len(objs) - 1})
	if got := image(t, ns, "api"); got != "registry.example.com/shop/api:1.4.2" {
		t.Errorf("image after apply: %s", got)
	}
	if w := writes.reset(); len(w) != 1 {
		t.Errorf("writes %v, want one", w)
	}
}

// TestWatchDriftSeesOthersOnly: the drift watch calls back for a field
// taken by another manager and for an object deleted by hand, never for
// envop's own applies (a new version of an object) nor its prunes, and the
// Apply that follows says what it reverted.
func TestWatchDriftSeesOthersOnly(t *testing.T) {
	ns := testcluster.Namespace(t)
	objs := appSet(t, ns)
	c := testcluster.Get(t)
	a, _ := newApplier(t, c.Config, Options{Namespace: ns})
	requireCounts(t, a.Apply(t.Context(), objs, nil), map[Action]int{Created: len(objs)})
	var drifts atomic.Int32
	if err := a.WatchDrift(t.Context(), func() { drifts.Add(1) }); err != nil {
		t.Fatal(err)
	}
	quiet := func(what string) {
		t.Helper()
		time.Sleep(time.Second)
		if n := drifts.Swap(0); n != 0 {
			t.Fatalf("%s: %d drift callbacks, want none", what, n)
		}
	}
	// After a revert, events of the drifted object sent before it may still
	// arrive (each costs a reconcile that writes nothing): what must not
	// happen is callbacks going on.
	settled := func(what string) {
		t.Helper()
		time.Sleep(time.Second)
		drifts.Store(0)
		quiet(what)
	}
	seen := func(what string) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for drifts.Load() == 0 {
			if time.Now().After(deadline) {
				t.Fatalf("%s: no drift callback after 5s", what)
			}
			time.Sleep(50 * time.Millisecond)
		}
		time.Sleep(500 * time.Millisecond) // the same drift may be seen more than once
		drifts.Store(0)
	}
	// Our own change: a new image for api, applied.
	newer := make([]*unstructured.Unstructured, len(objs))
	for i, obj := range objs {
		newer[i] = obj.DeepCopy()
	}
	setImage(t, find(t, newer, "Deployment", "api"), "registry.example.com/shop/api:1.5.0")
	requireCounts(t, a.Apply(t.Context(), newer, nil), map[Action]int{Configured: 1, Unchanged: len(objs) - 1})
	quiet("envop's own apply")

	editImage(t, ns, "api", "evil:latest")
	seen("image changed by kubectl-edit")
	cs := a.Apply(t.Context(), newer, nil)
	requireCounts(t, cs, map[Action]int{Configured: 1, Unchanged: len(objs) - 1})
	for _, ch := range cs.Changes {
		if ch.Action == Configured && ch.Reverted != "changed by kubectl-edit" {
			t.Errorf("%s: Reverted %q, want %q", ch, ch.Reverted, "changed by kubectl-edit")
		}
	}
	settled("the revert itself")

	if err := c.Client.CoreV1().Services(ns).Delete(t.Context(), "web", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	seen("service deleted by hand")
	cs = a.Apply(t.Context(), newer, nil)
	requireCounts(t, cs, map[Action]int{Created: 1, Unchanged: len(objs) - 1})
	for _, ch := range cs.Changes {
		if ch.Action == Created && ch.Reverted != "deleted" {
			t.Errorf("%s: Reverted %q, want deleted", ch, ch.Reverted)
		}
	}
	settled("the re-creation")

	pruned, err := a.Prune(t.Context(), without(newer, "Service", "web"))
	if err != nil {
		t.Fatal(err)
	}
	requireCounts(t, pruned, map[Action]int{Pruned: 1})
	quiet("envop's own prune")
}

func editImage(t *testing.T, ns, name, img string) {
	t.Helper()
	deployments := testcluster.Get(t).Client.AppsV1().Deployments(ns)
	// As kubectl edit does: read, change, write; again when the deployment
	// controller wrote its status in between.
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		d, err := deployments.Get(t.Context(), name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		d.Spec.Template.Spec.Containers[0].Image = img
		_, err = deployments.Update(t.Context(), d, metav1.UpdateOptions{FieldManager: "kubectl-edit"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func image(t *testing.T, ns, name string) string {
	t.Helper()
	return deployment(t, ns, name).Spec.Template.Spec.Containers[0].Image
}

func deployment(t *testing.T, ns, name string) *appsv1.Deployment {
	t.Helper()
	d, err := testcluster.Get(t).Client.AppsV1().Deployments(ns).Get(t.Context(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestHPAScaleIsNotReverted: the renderer leaves spec.replicas out of a
// Deployment with an HPA, so a scale by the HPA is neither reverted nor
// even written over.
func TestHPAScaleIsNotReverted(t *testing.T) {
	ns := testcluster.Namespace(t)
	objs := appSet(t, ns)
	c := testcluster.Get(t)
	a, writes := newApplier(t, c.Config, Options{Namespace: ns})
	requireCounts(t, a.Apply(t.Context(), objs, nil), map[Action]int{Created: len(objs)})
	// The plane's HPA controller first raises the new Deployment (1 replica)
	// to the HPA's minReplicas, 2; a scale to 7 before it does would race it.
	deadline := time.Now().Add(30 * time.Second)
	for *deployment(t, ns, "web").Spec.Replicas != 2 && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
	}

	scale := &autoscalingv1.Scale{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns}, Spec: autoscalingv1.ScaleSpec{Replicas: 7}}
	if _, err := c.Client.AppsV1().Deployments(ns).UpdateScale(t.Context(), "web", scale, metav1.UpdateOptions{FieldManager: "horizontal-pod-autoscaler"}); err != nil {
		t.Fatal(err)
	}
	writes.reset()
	cs := a.Apply(t.Context(), objs, nil)
	requireCounts(t, cs, map[Action]int{Unchanged: len(objs)})
	if w := writes.reset(); len(w) != 0 {
		t.Errorf("writes after the scale: %v", w)
	}
	if r := *deployment(t, ns, "web").Spec.Replicas; r != 7 {
		t.Errorf("replicas %d, want the HPA's 7", r)
	}
}

// TestHPAAddedKeepsReplicas: a Deployment that gains an HPA keeps its
// replica count instead of dropping to 1 when spec.replicas leaves the
// applied configuration.
func TestHPAAddedKeepsReplicas(t *testing.T) {
	ns := testcluster.Namespace(t)
	objs := golden(t, ns, "basic.yaml")
	a, _ := newApplier(t, testcluster.Get(t).Config, Options{Namespace: ns})
	web := find(t, objs, "Deployment", "web")
	plain := without(objs, "HorizontalPodAutoscaler", "web")
	if err := unstructured.SetNestedField(web.Object, int64(5), "spec", "replicas"); err != nil {
		t.Fatal(err)
	}
	requireCounts(t, a.Apply(t.Context(), plain, nil), map[Action]int{Created: len(plain)})

	unstructured.RemoveNestedField(web.Object, "spec", "replicas")
	cs := a.Apply(t.Context(), objs, nil)
	requireCounts(t, cs, map[Action]int{Configured: 1, Created: 1, Failed: 0})
	if r := *deployment(t, ns, "web").Spec.Replicas; r != 5 {
		t.Errorf("replicas %d after the HPA arrived, want 5 kept", r)
	}
}

func TestInvalidObjectsFailAlone(t *testing.T) {
	ns := testcluster.Namespace(t)
	objs := appSet(t, ns)
	bad := find(t, objs, "Deployment", "api")
	l := bad.GetLabels()
	l["team"] = "not a valid label value!"
	bad.SetLabels(l)
	other := find(t, objs, "Service", "web").DeepCopy()
	other.SetName("elsewhere")
	other.SetNamespace("default")
	unlabelled := find(t, objs, "Service", "web").DeepCopy()
	unlabelled.SetName("unlabelled")
	unlabelled.SetLabels(map[string]string{"app": "x"})
	objs = append(objs, other, unlabelled)

	a, _ := newApplier(t, testcluster.Get(t).Config, Options{Namespace: ns})
	cs := a.Apply(t.Context(), objs, nil)
	// api's Deployment fails, so its routes are held (holdRoutes).
	var held []string
	for _, ch := range cs.Changes {
		if ch.Action == Skipped {
			held = append(held, ch.Kind+"/"+ch.Service)
		}
	}
	slices.Sort(held)
	if want := []string{"Ingress/api", "Service/api"}; !slices.Equal(held, want) {
		t.Errorf("skipped %v, want api's routes %v", held, want)
	}
	requireCounts(t, cs, map[Action]int{Failed: 3, Skipped: len(held), Created: len(objs) - 3 - len(held)})
	for _, name := range []string{"api", "elsewhere", "unlabelled"} {
		var found bool
		for _, f := range cs.Failed() {
			if f.Name == name {
				found = true
				if !strings.Contains(f.Err.Error(), f.Kind+" "+name) {
					t.Errorf("error does not name the object: %v", f.Err)
				}
			}
		}
		if !found {
			t.Errorf("%s did not fail: %v", name, cs.Changes)
		}
	}
	if cs.Err() == nil {
		t.Error("no joined error")
	}
}
