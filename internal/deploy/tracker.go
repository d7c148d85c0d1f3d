package deploy

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/envop/envop/internal/audit"
	"github.com/envop/envop/internal/state"
)

// Health gives the current health of a workload by name.
type Health interface {
	Workload(name string) Workload
}

// Tracker follows deploys until they end.
type Tracker struct {
	store  *state.Store
	health Health
	log    *slog.Logger
	// OnAccept, when set, hears of every deploy accepted, and OnEnd of
	// every deploy that ended (metrics, Events); both are called after the
	// deploy is recorded, never under a lock of the tracker.
	OnAccept func(state.Deploy)
	OnEnd    func(state.Deploy)
	now      func() time.Time

	mu     sync.Mutex
	notify chan struct{}
}

// NewTracker returns a tracker over the store's deploys.
func NewTracker(store *state.Store, health Health, log *slog.Logger) *Tracker {
	return &Tracker{store: store, health: health, log: log, now: time.Now, notify: make(chan struct{})}
}

// NewID returns a new deploy id.
func NewID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Accept records a deploy durably: it becomes the workload's intent, and
// every earlier deploy of that workload still running ends Superseded. The
// deploy is returned once the record is written, together with rec (when
// given) in the service's audit: one write holds both.
func (t *Tracker) Accept(ctx context.Context, d state.Deploy, rec *audit.Record) (state.Deploy, error) {
	return t.AcceptWith(ctx, d, rec, nil)
}

// AcceptWith is Accept with more changes to the service's state (mutate,
// when set) carried by the same write.
func (t *Tracker) AcceptWith(ctx context.Context, d state.Deploy, rec *audit.Record, mutate func(*state.Service)) (state.Deploy, error) {
	if d.ID == "" {
		d.ID = NewID()
	}
	d.Status = state.StatusDeploying
	if d.Action == "" {
		d.Action = audit.ActionDeploy
		if rec != nil {
			d.Action = rec.Action
		}
	}
	var superseded []state.Deploy
	var logged audit.Record
	_, err := t.store.Update(ctx, d.Service, func(svc *state.Service) error {
		// Taken under the service's lock: deploys accepted at once start
		// in the order they supersede each other, so the newest wins.
		d.StartedAt = t.now().UTC()
		if mutate != nil {
			mutate(svc)
		}
		superseded = superseded[:0]
		for _, old := range svc.History {
			if old.Workload == d.Workload && !old.Done() {
				old = t.finish(old, Outcome{Status: state.StatusFailed, Reason: ReasonSuperseded,
					Message: fmt.Sprintf("superseded by deploy %s of version %s", d.ID, d.Version)})
				svc.UpdateDeploy(old)
				superseded = append(superseded, old)
			}
		}
		svc.SetIntent(d.Workload, state.Intent{Version: d.Version, Source: d.Source, Revision: d.Revision,
			Actor: d.Actor, DeployID: d.ID, At: d.StartedAt})
		svc.AddDeploy(d)
		if rec != nil {
			r := *rec
			r.Time, r.Service, r.Version, r.Result = d.StartedAt, d.Service, d.Version, audit.ResultAccepted
			r.Message = fmt.Sprintf("deploy %s of %s to %s", d.ID, d.Version, d.Workload)
			svc.Audit = audit.Append(svc.Audit, r, audit.MaxPerService)
			logged = r
		}
		return nil
	})
	if err != nil {
		return state.Deploy{}, fmt.Errorf("record deploy: %w", err)
	}
	if rec != nil {
		audit.Log(t.log, logged)
	}
	if t.OnAccept != nil {
		t.OnAccept(d)
	}
	for _, old := range superseded {
		t.ended(old)
	}
	t.wake()
	return d, nil
}

// Evaluate decides every running deploy against current health and
// persists those that ended.
func (t *Tracker) Evaluate(ctx context.Context) {
	for _, d := range t.store.Running() {
		out := Decide(d, t.health.Workload(d.Workload))
		if out.Status == state.StatusDeploying {
			continue
		}
		t.end(ctx, d, out)
	}
}

// Fail ends a running deploy as failed, e.g. when its objects could not be
// applied.
func (t *Tracker) Fail(ctx context.Context, d state.Deploy, reason, message string) {
	t.end(ctx, d, Outcome{Status: state.StatusFailed, Reason: reason, Message: message})
}

// Running returns the deploys not yet ended.
func (t *Tracker) Running() []state.Deploy {
	return t.store.Running()
}

// end records a deploy's outcome, and in the service's audit how it ended,
// in one write.
func (t *Tracker) end(ctx context.Context, d state.Deploy, out Outcome) {
	var ended state.Deploy
	var rec audit.Record
	_, err := t.store.Update(ctx, d.Service, func(svc *state.Service) error {
		cur, ok := svc.Deploy(d.ID)
		if !ok || cur.Done() {
			ended = state.Deploy{}
			return nil
		}
		ended = t.finish(cur, out)
		svc.UpdateDeploy(ended)
		rec = outcomeRecord(ended)
		svc.Audit = audit.Append(svc.Audit, rec, audit.MaxPerService)
		return nil
	})
	if err != nil {
		t.log.Error("record deploy outcome failed", "deploy", d.ID, "service", d.Service, "error", err)
		return
	}
	if ended.ID != "" {
		audit.Log(t.log, rec)
		t.ended(ended)
		t.wake()
	}
}

// outcomeRecord is the audit record of a deploy that ended: who started
// it, and whether the version rolled out or why not.
func outcomeRecord(d state.Deploy) audit.Record {
	r := audit.Record{Time: d.FinishedAt, Actor: d.Actor, Action: d.Action, Service: d.Service, Version: d.Version,
		Revision: d.Revision, Result: audit.ResultSuccess}
	if r.Action == "" {
		r.Action = audit.ActionDeploy
	}
	r.Message = fmt.Sprintf("deploy %s of %s to %s succeeded", d.ID, d.Version, d.Workload)
	if d.Status == state.StatusFailed {
		r.Result = audit.ResultFailed
		r.Message = fmt.Sprintf("deploy %s of %s to %s failed: %s", d.ID, d.Version, d.Workload, d.Reason)
		if d.Message != "" {
			r.Message += ": " + d.Message
		}
	}
	return r
}

func (t *Tracker) finish(d state.Deploy, out Outcome) state.Deploy {
	d.Status, d.Reason, d.Message = out.Status, out.Reason, out.Message
	d.FinishedAt = t.now().UTC()
	return d
}

func (t *Tracker) ended(d state.Deploy) {
	t.log.Info("deploy ended", "deploy", d.ID, "service", d.Service, "workload", d.Workload,
		"version", d.Version, "status", d.Status, "reason", d.Reason)
	if t.OnEnd != nil {
		t.OnEnd(d)
	}
}

// wake tells every waiter that some deploy changed.
func (t *Tracker) wake() {
	t.mu.Lock()
	close(t.notify)
	t.notify = make(chan struct{})
	t.mu.Unlock()
}

func (t *Tracker) changed() <-chan struct{} {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.notify
}

// Wait returns the deploy once it ended, or as it stands when ctx ends.
func (t *Tracker) Wait(ctx context.Context, id string) (state.Deploy, bool) {
	for {
		ch := t.changed()
		d, ok := t.store.FindDeploy(id)
		if !ok || d.Done() {
			return d, ok
		}
		select {
		case <-ctx.Done():
			return d, true
		case <-ch:
		}
	}
}

// evaluateGap is the least time between two evaluations: a rollout of
// thousands of services changes health a thousand times a second, and each
// evaluation judges every running deploy, so the changes of a burst are
// taken together. A change after a quiet spell is judged at once.
const evaluateGap = 100 * time.Millisecond

// Run evaluates deploys whenever health changes, until ctx ends.
func (t *Tracker) Run(ctx context.Context, changed <-chan struct{}) {
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	for {
		last := time.Now()
		t.Evaluate(ctx)
		select {
		case <-ctx.Done():
			return
		case <-changed:
		case <-tick.C:
		}
		if wait := evaluateGap - time.Since(last); wait > 0 {
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
		}
	}
}
