package operator

import (
	"context"
	"io"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/envop/envop/internal/api"
	"github.com/envop/envop/internal/audit"
	"github.com/envop/envop/internal/auth"
	"github.com/envop/envop/internal/controller"
	"github.com/envop/envop/internal/health"
	"github.com/envop/envop/internal/state"
	"github.com/envop/envop/internal/status"
)

// Bounds on GET /status/{service}/pods: a pod's log tail, and the pods
// shown (a service scaled to hundreds would otherwise make a huge answer).
const (
	maxLogBytes = 256 << 10
	maxPods     = 20
)

// backend is what the HTTP API sees of the running operator.
type backend struct {
	p     Parts
	audit *audit.Store
}

var _ api.Backend = (*backend)(nil)

// StatusVersion changes whenever Status may answer differently: the API
// serves the encoded answer again as long as it stays the same.
func (b *backend) StatusVersion() uint64 {
	return b.p.Controller.Generation() + b.p.Store.Generation() + b.p.Monitor.Generation()
}

func (b *backend) Status() status.Environment {
	sync := b.p.Controller.Status()
	env, _, _ := b.p.Controller.Environment()
	view := status.Sync{Status: sync.Status, Error: sync.Error}
	if !sync.At.IsZero() {
		at := sync.At
		view.At = &at
	}
	in := status.Input{
		Environment: b.p.Env, Namespace: b.p.Namespace, Revision: sync.Revision, GistsRevision: sync.GistsRevision, Sync: view,
		Env: env, Workloads: b.p.Monitor.Workloads(), Refused: b.p.Controller.Refused(),
	}
	var out status.Environment
	// Build copies what it keeps, so it may read the store in place.
	b.p.Store.Read(func(states map[string]*state.Service) {
		in.States = states
		out = status.Build(in)
	})
	return out
}

// Pods lists the service's pods from the watch caches, with the last lines
// of each one's log read through the pods/log API.
func (b *backend) Pods(ctx context.Context, service string, lines int64) ([]api.Pod, error) {
	var out []api.Pod
	for _, w := range b.p.Monitor.Workloads() {
		if w.Service != service {
			continue
		}
		for _, p := range w.Pods {
			if len(out) >= maxPods {
				return out, nil
			}
			pod := api.Pod{Name: p.Name, Phase: p.Phase, Ready: p.Ready, Restarts: p.Restarts,
				Reason: p.Reason, Message: p.Message, StartedAt: p.StartedAt}
			pod.Logs, pod.LogsError = b.logs(ctx, p, lines)
			out = append(out, pod)
		}
	}
	return out, nil
}

// logs reads a pod's log tail; a container that restarted and is not
// running shows the log of the run that ended, which says why.
func (b *backend) logs(ctx context.Context, p health.Pod, lines int64) (string, string) {
	if len(p.Containers) == 0 {
		return "", ""
	}
	opts := &corev1.PodLogOptions{Container: p.Containers[0], TailLines: &lines, LimitBytes: ptr(int64(maxLogBytes))}
	opts.Previous = p.Restarts > 0 && !p.Ready
	rc, err := b.p.Client.CoreV1().Pods(b.p.Namespace).GetLogs(p.Name, opts).Stream(ctx)
	if err != nil {
		return "", "logs unavailable: " + err.Error()
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, maxLogBytes))
	if err != nil {
		return string(data), "logs cut short: " + err.Error()
	}
	return strings.TrimRight(string(data), "\n"), ""
}

func ptr[T any](v T) *T { return &v }

func (b *backend) Deploy(ctx context.Context, req controller.DeployRequest) (state.Deploy, error) {
	return b.p.Controller.Deploy(ctx, req)
}

func (b *backend) Rollback(ctx context.Context, req controller.DeployRequest) (state.Deploy, error) {
	return b.p.Controller.Rollback(ctx, req)
}

func (b *backend) Promote(ctx context.Context, service string, by controller.Caller) (string, error) {
	return b.p.Controller.Promote(ctx, service, by)
}

func (b *backend) GetDeploy(id string) (state.Deploy, bool) {
	return b.p.Store.FindDeploy(id)
}

func (b *backend) WaitDeploy(ctx context.Context, id string) (state.Deploy, bool) {
	return b.p.Tracker.Wait(ctx, id)
}

// Audit merges the environment's newest records with every service's.
func (b *backend) Audit(service string, limit int) []audit.Record {
	sets := [][]audit.Record{b.audit.Select(service, limit)}
	var out []audit.Record
	b.p.Store.Read(func(states map[string]*state.Service) {
		for _, s := range states {
			sets = append(sets, s.Audit)
		}
		out = audit.Query(sets, service, limit)
	})
	return out
}

// Webhook asks for a fetch now. A delivery changes nothing by itself, so
// it is no audit record: the sync it leads to is one if it changes
// something, and the API logs the delivery.
func (b *backend) Webhook(_ context.Context, _ string) {
	b.p.Poller.Trigger()
}

// accessRules turns the manifest's `access` entries into auth rules.
func accessRules(c *controller.Controller) func() []auth.AccessRule {
	return func() []auth.AccessRule {
		env, _, ok := c.Environment()
		if !ok {
			return nil
		}
		out := make([]auth.AccessRule, 0, len(env.Access))
		for _, a := range env.Access {
			rule := auth.AccessRule{Group: a.Group, User: a.User, Role: auth.Role(a.Role)}
			if a.Services != nil {
				// Validated already; should it not parse, it grants nothing.
				scope, err := auth.ParseScope(strings.Join(a.Services, ","))
				if err != nil {
					scope = auth.ScopeOf()
				}
				rule.Scope = scope
			}
			out = append(out, rule)
		}
		return out
	}
}
