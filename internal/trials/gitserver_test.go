package trials

import (
	"sync"
	"testing"
	"time"

	"github.com/envop/envop/internal/testcluster"
	"github.com/envop/envop/internal/testgit"
)

// TestTrialGitOutage stops the git server for a while: the API keeps
// serving, status shows the sync error, and sync resumes by itself (a
// commit made during the outage is applied) once the server is back.
func TestTrialGitOutage(t *testing.T) {
	t.Parallel()
	rep := record(t, "stop the https git server for a while")
	outage := pick(10*time.Second, 60*time.Second)
	ns := testcluster.Namespace(t)
	r := newRepo(t, true)
	r.commit(manifest(ns, "web=1.0.0"))
	g := testgit.ServeTLS(t, "")
	op := newProc(t, ns, g.Add(r.Bare), "--git-branch", "main", "--git-ca-file", g.CAFile(), "--poll-interval", "1s")
	op.start()

	g.Stop()
	stopped := time.Now()
	var calls, ok200 int
	var mu sync.Mutex
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // the API keeps serving throughout
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			case <-time.After(200 * time.Millisecond):
			}
			code, _, err := op.call("GET", "/status", nil)
			mu.Lock()
			calls++
			if err == nil && code == 200 {
				ok200++
			}
			mu.Unlock()
		}
	}()
	var syncErr string
	shown := eventually(t, outage+30*time.Second, "status shows the sync error", func() (bool, string) {
		s, err := op.status()
		if err != nil {
			return false, err.Error()
		}
		syncErr = s.Sync.Error
		return s.Sync.Status == "error" && s.Sync.Error != "", "sync " + s.Sync.Status
	})
	rev := r.commit(manifest(ns, "web=1.1.0"))
	time.Sleep(time.Until(stopped.Add(outage)))
	g.Start()
	back := time.Now()
	close(done)
	wg.Wait()
	resumed := eventually(t, time.Minute, "sync resumed with the new commit", func() (bool, string) {
		s, err := op.status()
		if err != nil {
			return false, err.Error()
		}
		if ok, why := allGreenAt(s, 1, "1.1.0"); !ok {
			return false, why
		}
		return s.Sync.Status == "synced" && s.Revision == rev, "sync " + s.Sync.Status + " at " + s.Revision
	})
	if calls == 0 || ok200 != calls {
		t.Errorf("GET /status during the outage: %d of %d answered 200", ok200, calls)
	}
	if !op.running() {
		t.Errorf("the operator exited")
	}
	rep.add("outage %s; GET /status answered 200 %d/%d times during it", back.Sub(stopped).Round(100*time.Millisecond), ok200, calls)
	rep.add("sync error shown after %s (%q)", shown.Round(100*time.Millisecond), truncate(syncErr, 90))
	rep.add("commit made during the outage applied %s after the server came back (poll interval 1s)", resumed.Round(100*time.Millisecond))
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
