package trials

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/envop/envop/internal/testcluster"
)

// TestTrialConcurrentDeploys sends many deploys of one service at once:
// they are serialized, exactly the last accepted wins, every other ends
// Superseded, and each has one audit record.
func TestTrialConcurrentDeploys(t *testing.T) {
	t.Parallel()
	rep := record(t, "concurrent deploys to one service")
	n := pick(20, 50)
	ns := testcluster.Namespace(t)
	r := newRepo(t, false)
	r.commit(manifest(ns, "web=1.0.0"))
	op := newProc(t, ns, r.Work, "--poll-interval", "1h")
	op.start()
	ids := make([]string, n)
	versions := map[string]string{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	startGate := make(chan struct{})
	begin := time.Now()
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-startGate
			version := fmt.Sprintf("3.0.%d", i)
			code, data, err := op.call("POST", "/deploy", map[string]string{"name": "web", "version": version})
			var d deployView
			if err != nil || code != http.StatusAccepted || json.Unmarshal(data, &d) != nil {
				t.Errorf("deploy %s: %d %s %v", version, code, data, err)
				return
			}
			mu.Lock()
			ids[i], versions[d.ID] = d.ID, version
			mu.Unlock()
		}()
	}
	close(startGate)
	wg.Wait()
	accepting := time.Since(begin)
	if t.Failed() {
		t.FailNow()
	}
	// Each superseded deploy names its successor: the chain is the order
	// the operator serialized them in, and its end is the last accepted.
	next := map[string]string{}
	var winners []deployView
	var views []deployView
	for _, id := range ids {
		d := op.wait(id, 2*time.Minute)
		views = append(views, d)
		switch {
		case d.Status == "succeeded":
			winners = append(winners, d)
		case d.Status == "failed" && d.Reason == "Superseded":
			if f := strings.Fields(d.Message); len(f) > 3 {
				next[id] = f[3] // "superseded by deploy ID of version V"
			}
		default:
			t.Errorf("deploy %s (%s) ended %s %s: %s", id, versions[id], d.Status, d.Reason, d.Message)
		}
	}
	if len(winners) != 1 {
		t.Fatalf("%d deploys succeeded, want exactly 1", len(winners))
	}
	win := winners[0]
	chain := chainLength(next, win.ID)
	if chain != n {
		t.Errorf("the superseded-by links form a chain of %d ending at the winner, want all %d deploys", chain, n)
	}
	records := op.deployRecords("web")
	for _, id := range ids {
		if got := len(records[id]); got != 1 {
			t.Errorf("deploy %s: %d audit records, want 1", id, got)
		}
	}
	// Newest first: the winner must be the newest deploy in history and audit.
	newest := views[0]
	for _, d := range views {
		if d.StartedAt.After(newest.StartedAt) {
			newest = d
		}
	}
	if newest.ID != win.ID {
		t.Errorf("the winner %s (%s) started at %s, but %s (%s) shows a later start %s: history and audit order disagree with the order deploys were accepted in",
			win.ID, win.Version, win.StartedAt.Format(time.RFC3339Nano), newest.ID, newest.Version, newest.StartedAt.Format(time.RFC3339Nano))
	}
	dep, err := testcluster.Get(t).Client.AppsV1().Deployments(ns).Get(t.Context(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if img := dep.Spec.Template.Spec.Containers[0].Image; !strings.HasSuffix(img, ":"+win.Version) {
		t.Errorf("Deployment web runs %s, want the winner's %s", img, win.Version)
	}
	rep.add("%d concurrent POST /deploy: %d accepted in %s, serialized in one chain of %d", n, len(versions), accepting.Round(time.Millisecond), chain)
	rep.add("1 succeeded (%s, the last accepted, running in the cluster), %d failed Superseded", win.Version, len(next))
	rep.add("%d audit records, one per accepted call", len(records))
}

// chainLength follows the superseded-by links from the one deploy nothing
// supersedes into and returns the length of the chain when it ends at last.
func chainLength(next map[string]string, last string) int {
	into := map[string]bool{}
	for _, to := range next {
		into[to] = true
	}
	for first := range next {
		if into[first] {
			continue
		}
		n, id := 1, first
		for ; next[id] != "" && n <= len(next); n++ {
			id = next[id]
		}
		if id == last {
			return n
		}
		return 0
	}
	return 1
}
