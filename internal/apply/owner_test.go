package apply

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/envop/envop/internal/manifest"
	"github.com/envop/envop/internal/render"
	"github.com/envop/envop/internal/testcluster"
)

// foreignService creates a Service envop did not make: no labels of ours.
func foreignService(t *testing.T, ns, name string, labels map[string]string) *corev1.Service {
	t.Helper()
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "legacy-" + name},
			Ports: []corev1.ServicePort{{Name: "legacy", Port: 8080, TargetPort: intstr.FromInt32(8080)}}},
	}
	out, err := testcluster.Get(t).Client.CoreV1().Services(ns).Create(t.Context(), svc, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func liveService(t *testing.T, ns, name string) *corev1.Service {
	t.Helper()
	out, err := testcluster.Get(t).Client.CoreV1().Services(ns).Get(t.Context(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestNotOwnedServiceIsLeftAlone: a Service web that envop did not create
// is neither modified (its selector stays) nor pruned; nothing of service
// web is applied, and it fails with NotOwned naming the object, while every
// other service applies.
func TestNotOwnedServiceIsLeftAlone(t *testing.T) {
	ns := testcluster.Namespace(t)
	before := foreignService(t, ns, "web", map[string]string{"app": "legacy-web"})
	objs := appSet(t, ns)
	a, _ := newApplier(t, testcluster.Get(t).Config, Options{Namespace: ns})

	cs := a.Apply(t.Context(), objs, nil)
	var web []*unstructured.Unstructured
	for _, o := range objs {
		if serviceOf(o) == "web" {
			web = append(web, o)
		}
	}
	requireCounts(t, cs, map[Action]int{Failed: 1, Skipped: len(web) - 1, Created: len(objs) - len(web)})
	ch, _ := cs.Find("Service", "web")
	var notOwned *NotOwnedError
	if !errors.As(ch.Err, &notOwned) || ch.Reason != ReasonNotOwned || notOwned.Service != "web" {
		t.Fatalf("Service web: %+v", ch)
	}
	for _, want := range []string{"Service web", "not created by envop", "adopt: true"} {
		if !strings.Contains(ch.Err.Error(), want) {
			t.Errorf("message %q lacks %q", ch.Err, want)
		}
	}
	if d, _ := cs.Find("Deployment", "web"); d.Action != Skipped || !strings.Contains(d.Reason, ReasonNotOwned) {
		t.Errorf("Deployment web of a refused service: %+v", d)
	}
	gone(t, ns, "web", true) // never created

	if _, err := a.Prune(t.Context(), without(objs, "Service", "web")); err != nil {
		t.Fatal(err)
	}
	after := liveService(t, ns, "web")
	if after.ResourceVersion != before.ResourceVersion || after.Spec.Selector["app"] != "legacy-web" {
		t.Errorf("foreign Service changed: selector %v, resourceVersion %s → %s", after.Spec.Selector,
			before.ResourceVersion, after.ResourceVersion)
	}
}

// TestAdoptTakesOver: with adoption allowed for its service, the existing
// object is configured, joins the inventory, and is pruned like any other.
func TestAdoptTakesOver(t *testing.T) {
	ns := testcluster.Namespace(t)
	foreignService(t, ns, "web", nil)
	objs := appSet(t, ns)
	a, _ := newApplier(t, testcluster.Get(t).Config, Options{Namespace: ns})
	adopt := func(o *unstructured.Unstructured) bool { return serviceOf(o) == "web" }

	cs := a.Apply(t.Context(), objs, adopt)
	requireCounts(t, cs, map[Action]int{Failed: 0, Configured: 1, Created: len(objs) - 1})
	if got := liveService(t, ns, "web").Spec.Selector["app"]; got != "" {
		t.Errorf("adopted Service keeps the old selector %q", got)
	}
	pruned, err := a.Prune(t.Context(), without(objs, "Service", "web"))
	if err != nil {
		t.Fatal(err)
	}
	if ch, ok := pruned.Find("Service", "web"); !ok || ch.Action != Pruned {
		t.Errorf("adopted Service not pruned: %+v", pruned.Changes)
	}
}

// TestInstallationIsNeverAdopted: the operator's own objects are refused,
// adopt or not.
func TestInstallationIsNeverAdopted(t *testing.T) {
	ns := testcluster.Namespace(t)
	before := foreignService(t, ns, "envop", map[string]string{"app.kubernetes.io/name": "envop", "app.kubernetes.io/component": "operator"})
	desired := retarget(find(t, appSet(t, ns), "Service", "web").DeepCopy(), ns)
	desired.SetName("envop")
	a, _ := newApplier(t, testcluster.Get(t).Config, Options{Namespace: ns})

	cs := a.Apply(t.Context(), []*unstructured.Unstructured{desired}, func(*unstructured.Unstructured) bool { return true })
	var notOwned *NotOwnedError
	if ch, _ := cs.Find("Service", "envop"); !errors.As(ch.Err, &notOwned) || !notOwned.Installation {
		t.Fatalf("the operator's Service: %+v", ch)
	}
	if !strings.Contains(cs.Err().Error(), "installation") {
		t.Errorf("message: %v", cs.Err())
	}
	if after := liveService(t, ns, "envop"); after.ResourceVersion != before.ResourceVersion {
		t.Error("the operator's Service was written")
	}
}

// TestLabelledObjectOutsideInventoryIsNotPruned: carrying envop's labels
// does not make an object envop's: pruning deletes inventory members only.
func TestLabelledObjectOutsideInventoryIsNotPruned(t *testing.T) {
	ns := testcluster.Namespace(t)
	c := testcluster.Get(t)
	objs := appSet(t, ns)
	store := &memInventory{}
	a, _ := newApplier(t, c.Config, Options{Namespace: ns, Inventory: store})
	requireCounts(t, a.Apply(t.Context(), objs, nil), map[Action]int{Created: len(objs)})

	forged := find(t, objs, "ConfigMap", "app-config")
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "forged", Labels: forged.GetLabels()}}
	if _, err := c.Client.CoreV1().ConfigMaps(ns).Create(t.Context(), cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Prune(t.Context(), objs); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Client.CoreV1().ConfigMaps(ns).Get(t.Context(), "forged", metav1.GetOptions{}); err != nil {
		t.Errorf("labelled ConfigMap outside the inventory was pruned: %v", err)
	}
}

// TestInventoryIsKept: the inventory is saved before objects are created,
// once, and an Applier that restarts trusts it instead of rebuilding it.
func TestInventoryIsKept(t *testing.T) {
	ns := testcluster.Namespace(t)
	objs := appSet(t, ns)
	store := &memInventory{}
	a, _ := newApplier(t, testcluster.Get(t).Config, Options{Namespace: ns, Inventory: store})
	requireCounts(t, a.Apply(t.Context(), objs, nil), map[Action]int{Created: len(objs)})
	if _, err := a.Prune(t.Context(), objs); err != nil {
		t.Fatal(err)
	}
	refs, saves := store.get()
	if len(refs) != len(objs) || saves != 1 || !slices.Contains(refs, "Deployment.apps/api") {
		t.Fatalf("inventory after one sync: %d refs, %d saves: %v", len(refs), saves, refs)
	}

	restarted, _ := newApplier(t, testcluster.Get(t).Config, Options{Namespace: ns, Inventory: store})
	requireCounts(t, restarted.Apply(t.Context(), objs, nil), map[Action]int{Unchanged: len(objs)})
	cs, err := restarted.Prune(t.Context(), without(objs, "Deployment", "worker"))
	if err != nil {
		t.Fatal(err)
	}
	requireCounts(t, cs, map[Action]int{Pruned: 1})
	if refs, saves := store.get(); len(refs) != len(objs)-1 || saves != 2 || slices.Contains(refs, "Deployment.apps/worker") {
		t.Errorf("inventory after the prune: %d refs, %d saves: %v", len(refs), saves, refs)
	}
}

// memInventory is an InventoryStore in memory that counts its saves.
type memInventory struct {
	mu    sync.Mutex
	refs  []string
	found bool
	saves int
}

func (m *memInventory) LoadInventory(context.Context) ([]string, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.refs), m.found, nil
}

func (m *memInventory) SaveInventory(_ context.Context, refs []string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.refs, m.found = slices.Clone(refs), true
	m.saves++
	return nil
}

func (m *memInventory) get() ([]string, int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.refs), m.saves
}

// TestAdoption: only the objects of services with adopt: true may be taken
// over, never a gist or an access object named like them.
func TestAdoption(t *testing.T) {
	env := &manifest.Environment{Services: []manifest.Service{{Name: "web", Adopt: true}, {Name: "api"}}}
	obj := func(service string, labels map[string]string, annotations map[string]string) *unstructured.Unstructured {
		u := &unstructured.Unstructured{Object: map[string]any{}}
		l := map[string]string{render.LabelName: service}
		for k, v := range labels {
			l[k] = v
		}
		u.SetLabels(l)
		u.SetAnnotations(annotations)
		return u
	}
	adopt := Adoption(env)
	for _, tt := range []struct {
		name string
		obj  *unstructured.Unstructured
		want bool
	}{
		{"service with adopt", obj("web", nil, nil), true},
		{"service without", obj("api", nil, nil), false},
		{"gist named like it", obj("web", nil, map[string]string{render.AnnotationContentHash: "x"}), false},
		{"access object", obj("web", map[string]string{render.LabelAccess: "view"}, nil), false},
	} {
		if got := adopt(tt.obj); got != tt.want {
			t.Errorf("%s: adopt = %v, want %v", tt.name, got, tt.want)
		}
	}
	if Adoption(&manifest.Environment{Services: []manifest.Service{{Name: "api"}}}) != nil {
		t.Error("no service adopts: want a nil Adopt")
	}
}

// TestFailedWorkloadHoldsItsRoutes: adopting the objects of a service whose
// Deployment selects its pods by other labels (as the original Environment
// Operator made them) fails the Deployment, whose selector cannot change;
// the Service is then left as it is, still selecting the running pods,
// instead of moving to envop's selector and matching none. The other
// services apply.
func TestFailedWorkloadHoldsItsRoutes(t *testing.T) {
	ns := testcluster.Namespace(t)
	c := testcluster.Get(t)
	legacy := map[string]string{"app": "legacy-web"}
	replicas := int32(1)
	dep := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: appsv1.DeploymentSpec{
		Replicas: &replicas, Selector: &metav1.LabelSelector{MatchLabels: legacy},
		Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: legacy},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "web:legacy"}}}},
	}}
	if _, err := c.Client.AppsV1().Deployments(ns).Create(t.Context(), dep, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	foreignService(t, ns, "web", nil)
	objs := appSet(t, ns)
	a, _ := newApplier(t, c.Config, Options{Namespace: ns})
	adoptWeb := func(obj *unstructured.Unstructured) bool { return serviceOf(obj) == "web" }

	cs := a.Apply(t.Context(), objs, adoptWeb)
	if ch, _ := cs.Find("Deployment", "web"); ch.Action != Failed || !strings.Contains(ch.Err.Error(), "immutable") {
		t.Fatalf("Deployment web: %s %v, want failed as immutable", ch.Action, ch.Err)
	}
	for _, kind := range []string{"Service", "Ingress", "HorizontalPodAutoscaler"} {
		if ch, ok := cs.Find(kind, "web"); ok && (ch.Action != Skipped || !strings.Contains(ch.Reason, "Deployment web was not applied")) {
			t.Errorf("%s web: %s %q, want skipped for the Deployment", kind, ch.Action, ch.Reason)
		}
	}
	if got := liveService(t, ns, "web").Spec.Selector; got["app"] != "legacy-web" || len(got) != 1 {
		t.Errorf("Service web selector %v: moved away from the running pods", got)
	}
	if ch, _ := cs.Find("Deployment", "api"); ch.Action != Created {
		t.Errorf("Deployment api: %s, want created", ch.Action)
	}
	if ch, _ := cs.Find("Service", "api"); ch.Action != Created {
		t.Errorf("Service api: %s, want created", ch.Action)
	}
}
