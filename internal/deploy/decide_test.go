package deploy

import (
	"testing"

	"github.com/envop/envop/internal/state"
)

func TestDecide(t *testing.T) {
	d := state.Deploy{ID: "x", Workload: "api", Version: "2.0", Status: state.StatusDeploying}
	cases := []struct {
		name string
		w    Workload
		want Outcome
	}{
		{"workload not created yet", Workload{}, Outcome{Status: state.StatusDeploying}},
		{"still the old version, even if green", Workload{Exists: true, Version: "1.0", Status: Green}, Outcome{Status: state.StatusDeploying}},
		{"old version red does not fail the new deploy", Workload{Exists: true, Version: "1.0", Status: Red, Reason: "CrashLoopBackOff"}, Outcome{Status: state.StatusDeploying}},
		{"rolling out", Workload{Exists: true, Version: "2.0", Status: Orange}, Outcome{Status: state.StatusDeploying}},
		{"rolled out", Workload{Exists: true, Version: "2.0", Status: Green}, Outcome{Status: state.StatusSucceeded, Message: "api is running version 2.0"}},
		{"cannot progress", Workload{Exists: true, Version: "2.0", Status: Red, Reason: "ImagePullBackOff", Message: "bad image"},
			Outcome{Status: state.StatusFailed, Reason: "ImagePullBackOff", Message: "bad image"}},
	}
	for _, c := range cases {
		if got := Decide(d, c.w); got != c.want {
			t.Errorf("%s: got %+v, want %+v", c.name, got, c.want)
		}
	}
}
