package deploy

import (
	"testing"
	"time"

	"github.com/envop/envop/internal/audit"
	"github.com/envop/envop/internal/state"
)

func TestOutcomeRecord(t *testing.T) {
	at := time.Date(2026, 11, 27, 4, 0, 0, 0, time.UTC)
	d := state.Deploy{ID: "d1", Service: "api", Workload: "api-green", Version: "2.0", Actor: "ci", Action: audit.ActionRollback,
		Revision: "abc", Status: state.StatusSucceeded, FinishedAt: at}
	r := outcomeRecord(d)
	want := audit.Record{Time: at, Actor: "ci", Action: audit.ActionRollback, Service: "api", Version: "2.0", Revision: "abc",
		Result: audit.ResultSuccess, Message: "deploy d1 of 2.0 to api-green succeeded"}
	if r != want {
		t.Errorf("succeeded:\n got %+v\nwant %+v", r, want)
	}
	d.Status, d.Reason, d.Message, d.Action = state.StatusFailed, "CrashLoopBackOff", "restarted 3 times", ""
	r = outcomeRecord(d)
	if r.Result != audit.ResultFailed || r.Action != audit.ActionDeploy ||
		r.Message != "deploy d1 of 2.0 to api-green failed: CrashLoopBackOff: restarted 3 times" {
		t.Errorf("failed: %+v", r)
	}
}
