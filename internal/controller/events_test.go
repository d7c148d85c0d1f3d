package controller

import (
	"strings"
	"sync"
	"testing"

	"github.com/envop/envop/internal/audit"
	"github.com/envop/envop/internal/manifest"
	"github.com/envop/envop/internal/state"
)

// objectEvents keeps the Events a controller records on objects.
type objectEvents struct {
	nopEvents
	mu  sync.Mutex
	got []string
}

func (e *objectEvents) On(kind, name, eventType, reason, message string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.got = append(e.got, strings.Join([]string{kind, name, eventType, reason, message}, " | "))
}

// TestDeployEvent: each step of a deploy is an Event on the object of its
// workload, naming who asked for it.
func TestDeployEvent(t *testing.T) {
	events := &objectEvents{}
	c := New(Config{}, Deps{Events: events})
	c.rememberServices(&manifest.Environment{Services: []manifest.Service{
		{Name: "web"}, {Name: "db", Kind: manifest.KindStatefulSet}, {Name: "migrate", Kind: manifest.KindJob},
	}})
	for _, tt := range []struct {
		d    state.Deploy
		want string
	}{
		{state.Deploy{ID: "1", Service: "web", Workload: "web", Version: "1.1", Actor: "ci", Status: state.StatusDeploying},
			"Deployment | web | Normal | DeployAccepted | deploy 1 of version 1.1 by ci accepted"},
		{state.Deploy{ID: "2", Service: "db", Workload: "db", Version: "2", Actor: "Dev", Source: state.SourceGit, Revision: "0123456789abcdef", Status: state.StatusSucceeded},
			"StatefulSet | db | Normal | DeploySucceeded | deploy 2 of version 2 by Dev (commit 0123456789ab) succeeded"},
		{state.Deploy{ID: "3", Service: "migrate", Workload: "migrate", Version: "1.4.2", Actor: "ci", Status: state.StatusFailed, Reason: "QuotaExceeded", Message: "exceeded quota: jobs"},
			"Job | migrate-1-4-2 | Warning | DeployFailed | deploy 3 of version 1.4.2 by ci failed: QuotaExceeded: exceeded quota: jobs"},
		{state.Deploy{ID: "4", Service: "web", Workload: "web", Version: "1.0", Actor: "ann", Action: audit.ActionRollback, Status: state.StatusFailed, Reason: "Superseded", Message: "superseded by deploy 5 of version 1.2"},
			"Deployment | web | Normal | RollbackSuperseded | rollback 4 of version 1.0 by ann: superseded by deploy 5 of version 1.2"},
		{state.Deploy{ID: "6", Service: "gone", Workload: "gone", Version: "1", Status: state.StatusDeploying},
			"Deployment | gone | Normal | DeployAccepted | deploy 6 of version 1 by unknown accepted"},
	} {
		events.got = nil
		c.DeployEvent(tt.d)
		if len(events.got) != 1 || events.got[0] != tt.want {
			t.Errorf("deploy %s: events %q, want %q", tt.d.ID, events.got, tt.want)
		}
	}
}
