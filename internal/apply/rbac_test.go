package apply

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/envop/envop/internal/testcluster"
	"github.com/envop/envop/internal/testlog"
)

// TestNamespacedServiceAccount runs a whole cycle (create, no-op resync,
// change, prune) as a ServiceAccount holding only RequiredRules in its
// namespace.
func TestNamespacedServiceAccount(t *testing.T) {
	ns := testcluster.Namespace(t)
	cfg, _ := testcluster.ServiceAccountClient(t, ns, "envop", RequiredRules)
	objs := appSet(t, ns)
	a, writes := newApplier(t, cfg, Options{Namespace: ns})

	requireCounts(t, a.Apply(t.Context(), objs, nil), map[Action]int{Created: len(objs)})
	writes.reset()
	requireCounts(t, a.Apply(t.Context(), objs, nil), map[Action]int{Unchanged: len(objs)})
	if w := writes.reset(); len(w) != 0 {
		t.Errorf("resync wrote %v", w)
	}
	setImage(t, find(t, objs, "Deployment", "web"), "nginx:1.28")
	requireCounts(t, a.Apply(t.Context(), objs, nil), map[Action]int{Configured: 1})
	cs, err := a.Prune(t.Context(), without(objs, "Service", "web"))
	if err != nil {
		t.Fatal(err)
	}
	requireCounts(t, cs, map[Action]int{Pruned: 1, Failed: 0})
	if !driftSeen(t, a, ns) {
		t.Error("the drift watch saw no deletion by hand")
	}
}

// driftSeen says whether a's drift watch sees the Deployment web deleted
// by hand within 5 seconds, by a watch that works: without one, the
// informers would notice only by listing everything again and again.
func driftSeen(t *testing.T, a *Applier, ns string) bool {
	t.Helper()
	logs := &testlog.Buffer{}
	a.opts.Logger = slog.New(slog.NewJSONHandler(logs, nil))
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	seen := make(chan struct{}, 1)
	if err := a.WatchDrift(ctx, func() {
		select {
		case seen <- struct{}{}:
		default:
		}
	}); err != nil {
		t.Logf("drift watch: %v", err)
		return false
	}
	client := testcluster.Get(t).Client.AppsV1().Deployments(ns)
	if err := client.Delete(t.Context(), "web", metav1.DeleteOptions{}); err != nil {
		t.Fatalf("delete by hand: %v", err)
	}
	select {
	case <-seen:
	case <-time.After(5 * time.Second):
		return false
	}
	if strings.Contains(logs.String(), "drift watch failed") {
		t.Logf("drift watch: %s", logs.Tail(1))
		return false
	}
	return true
}

// TestRequiredRulesAreMinimal: without any one of the verbs, a cycle fails.
func TestRequiredRulesAreMinimal(t *testing.T) {
	for _, verb := range applyVerbs {
		t.Run(verb, func(t *testing.T) {
			ns := testcluster.Namespace(t)
			cfg, _ := testcluster.ServiceAccountClient(t, ns, "envop", withoutVerb(RequiredRules, verb))
			objs := golden(t, ns, "basic.yaml")
			a, _ := newApplier(t, cfg, Options{Namespace: ns})
			cs := a.Apply(t.Context(), objs, nil)
			failed := cs.Err() != nil
			if !failed {
				pruned, err := a.Prune(t.Context(), without(objs, "Service", "web"))
				failed = err != nil || pruned.Err() != nil
			}
			if !failed {
				failed = !driftSeen(t, a, ns)
			}
			if !failed {
				t.Errorf("a cycle without %q succeeded: the verb is not needed", verb)
			}
		})
	}
}

func withoutVerb(rules []rbacv1.PolicyRule, verb string) []rbacv1.PolicyRule {
	out := make([]rbacv1.PolicyRule, len(rules))
	for i, r := range rules {
		r.Verbs = slices.DeleteFunc(slices.Clone(r.Verbs), func(v string) bool { return v == verb })
		out[i] = r
	}
	return out
}

// TestRememberedKindNotListable: a remembered custom resource kind the
// ServiceAccount may not list (its rights went with the service) is
// skipped; pruning of everything else goes on.
func TestRememberedKindNotListable(t *testing.T) {
	ns := testcluster.Namespace(t)
	testcluster.InstallCRD(t, couchbase)
	cfg, _ := testcluster.ServiceAccountClient(t, ns, "envop", RequiredRules)
	objs := appSet(t, ns)
	a, _ := newApplier(t, cfg, Options{Namespace: ns})
	requireCounts(t, a.Apply(t.Context(), objs, nil), map[Action]int{Created: len(objs)})
	a.RememberKinds(couchbase.GroupKind())
	cs, err := a.Prune(t.Context(), without(objs, "Service", "web"))
	if err != nil {
		t.Fatal(err)
	}
	requireCounts(t, cs, map[Action]int{Pruned: 1, Failed: 0})
}
