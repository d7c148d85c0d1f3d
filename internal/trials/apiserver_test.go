package trials

import (
	"context"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/envop/envop/internal/testcluster"
)

// TestTrialAPIServerRestart restarts the API server while the operator
// applies a commit to a larger environment: it converges once the API
// server is back. Not parallel: Go runs it while the parallel trials wait,
// so none of them sees the outage.
func TestTrialAPIServerRestart(t *testing.T) {
	rep := record(t, "restart the API server in the middle of a sync")
	n := pick(30, 60)
	c := testcluster.Get(t)
	ns := testcluster.Namespace(t)
	r := newRepo(t, false)
	r.commit(manifest(ns, servicesAt(n, "1.0.0")...))
	op := newProc(t, ns, r.work, "--poll-interval", "1s")
	op.start()
	eventually(t, 3*time.Minute, "all services green at 1.0.0", func() (bool, string) {
		s, err := op.status()
		if err != nil {
			return false, err.Error()
		}
		return allGreenAt(s, n, "1.0.0")
	})
	rev := r.commit(manifest(ns, servicesAt(n, "1.1.0")...))
	// Restart once the operator has begun applying the commit.
	updated := 0
	for deadline := time.Now().Add(time.Minute); updated == 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the operator did not begin applying %s within a minute:\n%s", rev, op.logTail(20))
		}
		updated = countAt(t.Context(), t, ns, "1.1.0")
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	if err := c.RestartAPIServer(ctx); err != nil {
		t.Fatalf("restart the API server: %v", err)
	}
	outage := time.Since(start)
	if !op.running() {
		t.Fatalf("the operator exited during the outage:\n%s", op.logTail(30))
	}
	took := eventually(t, 3*time.Minute, "converged after the restart", func() (bool, string) {
		s, err := op.status()
		if err != nil {
			return false, err.Error()
		}
		if ok, why := allGreenAt(s, n, "1.1.0"); !ok {
			return false, why
		}
		return s.Sync.Status == "synced" && s.Revision == rev, "sync " + s.Sync.Status + " " + s.Sync.Error
	})
	if got := countAt(t.Context(), t, ns, "1.1.0"); got != n {
		t.Errorf("%d of %d Deployments at 1.1.0 after convergence", got, n)
	}
	rep.add("%d services; %d Deployments updated when the API server was stopped", n, updated)
	rep.add("API server down and back in %s; converged %s later (all green at the new version, sync ok)",
		outage.Round(100*time.Millisecond), took.Round(100*time.Millisecond))
}

// countAt counts the namespace's Deployments whose image has tag version.
func countAt(ctx context.Context, t *testing.T, ns, version string) int {
	list, err := testcluster.Get(t).Client.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return 0
	}
	n := 0
	for _, d := range list.Items {
		if strings.HasSuffix(d.Spec.Template.Spec.Containers[0].Image, ":"+version) {
			n++
		}
	}
	return n
}
