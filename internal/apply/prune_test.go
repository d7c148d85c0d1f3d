package apply

import (
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"github.com/envop/envop/internal/render"
	"github.com/envop/envop/internal/testcluster"
)

func TestPrune(t *testing.T) {
	ns := testcluster.Namespace(t)
	c := testcluster.Get(t)
	objs := appSet(t, ns)
	a, _ := newApplier(t, c.Config, Options{Namespace: ns})
	requireCounts(t, a.Apply(t.Context(), objs, nil), map[Action]int{Created: len(objs)})
	foreign := map[string]map[string]string{
		"unlabelled": {"app": "mine"},
		"other-env":  {render.LabelManagedBy: render.ManagedBy, render.LabelEnvironment: "prod"},
	}
	for name, labels := range foreign {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
		if _, err := c.Client.CoreV1().ConfigMaps(ns).Create(t.Context(), cm, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	claim := find(t, objs, "PersistentVolumeClaim", "uploads").GetName()
	desired := without(without(without(objs, "Deployment", "worker"), "HorizontalPodAutoscaler", "worker"), "PersistentVolumeClaim", claim)
	cs, err := a.Prune(t.Context(), desired)
	if err != nil {
		t.Fatal(err)
	}
	requireCounts(t, cs, map[Action]int{Pruned: 2, Skipped: 1, Failed: 0})
	if len(cs.Changes) != 3 || cs.Changes[0].Kind != "HorizontalPodAutoscaler" || cs.Changes[2].Kind != "PersistentVolumeClaim" {
		t.Errorf("want HPA, Deployment, claim in reverse apply order: %v", cs.Changes)
	}
	if c, _ := cs.Find("PersistentVolumeClaim", claim); c.Reason == "" {
		t.Error("skipped claim without a reason")
	}
	gone(t, ns, "worker", true)
	for name := range foreign {
		if _, err := c.Client.CoreV1().ConfigMaps(ns).Get(t.Context(), name, metav1.GetOptions{}); err != nil {
			t.Errorf("ConfigMap %s not ours, yet: %v", name, err)
		}
	}
	if _, err := c.Client.CoreV1().PersistentVolumeClaims(ns).Get(t.Context(), claim, metav1.GetOptions{}); err != nil {
		t.Errorf("claim pruned: %v", err)
	}

	claims, _ := newApplier(t, c.Config, Options{Namespace: ns, PruneClaims: true})
	cs, err = claims.Prune(t.Context(), desired)
	if err != nil {
		t.Fatal(err)
	}
	requireCounts(t, cs, map[Action]int{Pruned: 1})
}

func TestPruneRefusesEmptyDesired(t *testing.T) {
	ns := testcluster.Namespace(t)
	objs := appSet(t, ns)
	a, writes := newApplier(t, testcluster.Get(t).Config, Options{Namespace: ns})
	requireCounts(t, a.Apply(t.Context(), objs, nil), map[Action]int{Created: len(objs)})
	writes.reset()

	cs, err := a.Prune(t.Context(), nil)
	if !errors.Is(err, ErrEmptyDesired) || len(cs.Changes) != 0 {
		t.Fatalf("prune of an empty set: %v, %v", err, cs.Changes)
	}
	t.Logf("refusal: %v", err)
	if w := writes.reset(); len(w) != 0 {
		t.Errorf("refused prune wrote: %v", w)
	}

	all, _ := newApplier(t, testcluster.Get(t).Config, Options{Namespace: ns, AllowEmpty: true})
	cs, err = all.Prune(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	claims := 0
	for _, o := range objs {
		if o.GetKind() == "PersistentVolumeClaim" {
			claims++
		}
	}
	requireCounts(t, cs, map[Action]int{Pruned: len(objs) - claims, Skipped: claims})
	gone(t, ns, "api", true)
}

func TestPruneNothingToDo(t *testing.T) {
	ns := testcluster.Namespace(t)
	a, writes := newApplier(t, testcluster.Get(t).Config, Options{Namespace: ns})
	cs, err := a.Prune(t.Context(), nil)
	if err != nil || len(cs.Changes) != 0 || len(writes.reset()) != 0 {
		t.Errorf("empty namespace: %v %v", cs.Changes, err)
	}
}

// gone says whether Deployment name is deleted or being deleted.
func gone(t *testing.T, ns, name string, want bool) {
	t.Helper()
	d, err := testcluster.Get(t).Client.AppsV1().Deployments(ns).Get(t.Context(), name, metav1.GetOptions{})
	isGone := apierrors.IsNotFound(err) || (err == nil && d.DeletionTimestamp != nil)
	if isGone != want {
		t.Errorf("Deployment %s gone %v, want %v (%v)", name, isGone, want, err)
	}
}

// TestPruneListsOnlyWhatItMayDelete: only inventory members are ever
// pruned, so a prune that removes nothing sends no request, and one that
// removes a Deployment lists Deployments alone.
func TestPruneListsOnlyWhatItMayDelete(t *testing.T) {
	ns := testcluster.Namespace(t)
	c := testcluster.Get(t)
	objs := appSet(t, ns)
	var mu sync.Mutex
	var requests []string
	cfg := rest.CopyConfig(c.Config)
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return roundTripper(func(r *http.Request) (*http.Response, error) {
			mu.Lock()
			requests = append(requests, r.Method+" "+r.URL.Path)
			mu.Unlock()
			return rt.RoundTrip(r)
		})
	})
	a, _ := newApplier(t, cfg, Options{Namespace: ns})
	requireCounts(t, a.Apply(t.Context(), objs, nil), map[Action]int{Created: len(objs)})
	taken := func() []string {
		mu.Lock()
		defer mu.Unlock()
		out := requests
		requests = nil
		return out
	}
	taken()
	if _, err := a.Prune(t.Context(), objs); err != nil {
		t.Fatal(err)
	}
	if got := taken(); len(got) != 0 {
		t.Errorf("a prune that removes nothing sent %d requests: %v", len(got), got)
	}
	cs, err := a.Prune(t.Context(), without(objs, "Deployment", "worker"))
	if err != nil {
		t.Fatal(err)
	}
	requireCounts(t, cs, map[Action]int{Pruned: 1})
	for _, r := range taken() {
		if strings.HasPrefix(r, "GET ") && !strings.HasSuffix(r, "/deployments") {
			t.Errorf("removing a Deployment listed another kind: %s", r)
		}
	}
}
