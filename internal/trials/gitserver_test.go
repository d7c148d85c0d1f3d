package trials

import (
	"strings"
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
	probes := startProbes(op, "/status")
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
	p := probes.stop()
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
	if p.calls == 0 || p.ok != p.calls {
		t.Errorf("GET /status during the outage: %d of %d answered 200 within %s (%s)", p.ok, p.calls, probeTimeout, strings.Join(p.failures, "; "))
	}
	if !op.running() {
		t.Errorf("the operator exited")
	}
	rep.add("outage %s; GET /status answered 200 %d/%d times during it", back.Sub(stopped).Round(100*time.Millisecond), p.ok, p.calls)
	rep.add("sync error shown after %s (%q)", shown.Round(100*time.Millisecond), truncate(syncErr, 90))
	rep.add("commit made during the outage applied %s after the server came back (poll interval 1s)", resumed.Round(100*time.Millisecond))
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
