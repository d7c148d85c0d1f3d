package trials

import (
	"testing"

	"github.com/envop/envop/internal/testcluster"
)

// Regression tests for bugs the trials found (see docs/reliability.md).

// TestBugAuditMalformedQueryDropsFilter: GET /audit?service=we%zz answers
// 200 with the records of every service. url.Values drops the pair it
// cannot decode and r.URL.Query() hides the error, so the filter a client
// asked for is silently ignored (internal/api/status.go, audit and
// intParam). Want 400.
func TestBugAuditMalformedQueryDropsFilter(t *testing.T) {
	ns := testcluster.Namespace(t)
	r := newRepo(t, false)
	r.commit(manifest(ns, "web=1.0.0", "api=1.0.0"))
	op := newProc(t, ns, r.Work, "--poll-interval", "1h")
	op.start()
	for _, path := range []string{"/audit?service=we%zz", "/audit?service=web&limit=%zz"} {
		code, body, err := op.call("GET", path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if code != 400 {
			t.Errorf("GET %s = %d %.200s, want 400 for a query that cannot be decoded", path, code, body)
		}
	}
}
