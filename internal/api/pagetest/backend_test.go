package pagetest

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/envop/envop/internal/api"
	"github.com/envop/envop/internal/audit"
	"github.com/envop/envop/internal/controller"
	"github.com/envop/envop/internal/state"
	"github.com/envop/envop/internal/status"
)

// Names the tests look for in the DOM; unusual enough not to appear by chance.
const (
	envName    = "staging-qx42"
	namespace  = "team-qx42"
	greenName  = "checkout-api"
	redName    = "ledger-worker"
	redReason  = "CrashLoopBackOff"
	redMessage = "back-off 5m0s restarting failed container"
	auditActor = "release-bot"
)

// backend is an in-memory api.Backend: one green and one red service and a
// few audit records. It counts the calls that return data, so a test can
// tell that the page asked for none.
type backend struct {
	mu     sync.Mutex
	calls  int
	view   func(call int) status.Environment
	audits []audit.Record
}

var _ api.Backend = (*backend)(nil)

var errUnused = errors.New("not used by the status page")

func newBackend() *backend {
	now := time.Now().UTC().Truncate(time.Second)
	return &backend{
		view: func(int) status.Environment { return environment(now, "2.7.1") },
		audits: []audit.Record{
			{Time: now.Add(-time.Minute), Actor: auditActor, Action: audit.ActionDeploy, Service: redName, Version: "5.0.0-rc3", Result: audit.ResultAccepted},
			{Time: now.Add(-time.Hour), Actor: "git", Action: audit.ActionSync, Revision: "9f1c2e7d", Result: audit.ResultSuccess, Message: "applied revision 9f1c2e7d4b3a"},
		},
	}
}

// environment is the view with the green service at greenVersion.
func environment(now time.Time, greenVersion string) status.Environment {
	return status.Environment{
		Environment: envName, Namespace: namespace, Revision: "9f1c2e7d4b3a21f0", GistsRevision: "c0ffee5eed1234ab",
		Sync: status.Sync{Status: "synced", At: &now}, Status: "red",
		Services: []status.Service{
			{Name: greenName, Application: greenName, Version: greenVersion, Status: "green",
				Replicas: status.Replicas{Desired: 3, Updated: 3, Ready: 3, Available: 3}, DeployedAt: &now,
				ExternalURL: []string{"checkout.example.test"}, Kind: "Deployment", Workload: greenName},
			{Name: redName, Application: "ledger", Version: "5.0.0-rc3", Status: "red", Reason: redReason, Message: redMessage,
				Replicas: status.Replicas{Desired: 2, Updated: 1, Ready: 0, Available: 0}, Kind: "Deployment", Workload: redName},
		},
	}
}

func (b *backend) Status() status.Environment {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.calls++
	return b.view(b.calls)
}

func (b *backend) Audit(service string, limit int) []audit.Record {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.calls++
	out := []audit.Record{}
	for _, r := range b.audits {
		if (service == "" || r.Service == service) && len(out) < limit {
			out = append(out, r)
		}
	}
	return out
}

// statusCalls is how many times the page read data.
func (b *backend) statusCalls() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.calls
}

func (b *backend) Pods(context.Context, string, int64) ([]api.Pod, error) { return nil, errUnused }
func (b *backend) Deploy(context.Context, controller.DeployRequest) (state.Deploy, error) {
	return state.Deploy{}, errUnused
}
func (b *backend) Rollback(context.Context, controller.DeployRequest) (state.Deploy, error) {
	return state.Deploy{}, errUnused
}
func (b *backend) Promote(context.Context, string, controller.Caller) (string, error) {
	return "", errUnused
}
func (b *backend) GetDeploy(string) (state.Deploy, bool) { return state.Deploy{}, false }
func (b *backend) WaitDeploy(context.Context, string) (state.Deploy, bool) {
	return state.Deploy{}, false
}
func (b *backend) Webhook(context.Context, string) {}

func (b *backend) Diff(context.Context, api.DiffRequest) (api.DiffAnswer, error) {
	return api.DiffAnswer{}, nil
}
