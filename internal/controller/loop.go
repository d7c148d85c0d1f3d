package controller

import (
	"context"
	"errors"
	"maps"
	"slices"
	"sync"
	"time"

	"k8s.io/client-go/util/workqueue"
)

// Triggers: what asked for a reconcile, as the logs name it.
const (
	TriggerGit      = "git"
	TriggerDeploy   = "deploy"
	TriggerPromote  = "promote"
	TriggerResync   = "resync"
	TriggerDrift    = "drift"
	TriggerRetry    = "retry"
	retryBackoffMin = time.Second
	retryBackoffMax = time.Minute
)

// queue feeds the one reconcile loop of the environment. Every trigger adds
// the environment's single key, so triggers that arrive together make one
// reconcile; a reconcile that failed for a reason a retry may fix is added
// again after a backoff that doubles from a second up to a minute, and a
// success resets it (docs/operator.md#the-reconcile-loop).
type queue struct {
	q workqueue.TypedRateLimitingInterface[string]

	mu       sync.Mutex
	pending  *Snapshot // the newest revision not applied yet
	triggers map[string]bool
}

func newQueue() *queue {
	return &queue{
		q: workqueue.NewTypedRateLimitingQueueWithConfig(
			workqueue.NewTypedItemExponentialFailureRateLimiter[string](retryBackoffMin, retryBackoffMax),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "envop"}),
		triggers: map[string]bool{},
	}
}

// queueKey is the one item of the queue: there is one environment.
const queueKey = "environment"

func (q *queue) add(trigger string) {
	q.note(trigger)
	q.q.Add(queueKey)
}

// note records a trigger for the next reconcile's log line.
func (q *queue) note(trigger string) {
	q.mu.Lock()
	q.triggers[trigger] = true
	q.mu.Unlock()
}

// take returns the triggers since the last take and the pending revision,
// which it clears: a newer one may arrive during the reconcile.
func (q *queue) take() (*Snapshot, []string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	snap := q.pending
	q.pending = nil
	triggers := slices.Sorted(maps.Keys(q.triggers))
	clear(q.triggers)
	return snap, triggers
}

// putBack keeps snap for the retry, unless a newer revision arrived.
func (q *queue) putBack(snap *Snapshot) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.pending == nil {
		q.pending = snap
	}
}

// Submit hands a new revision of the repository to the reconcile loop; it
// never blocks. Revisions that arrive faster than they are applied are
// merged: the newest is applied, as the latest intent wins.
func (c *Controller) Submit(snap Snapshot) {
	c.queue.mu.Lock()
	c.queue.pending = &snap
	c.queue.mu.Unlock()
	c.queue.add(TriggerGit)
}

// Enqueue asks for a reconcile of the last good revision soon; it never
// blocks.
func (c *Controller) Enqueue(trigger string) { c.queue.add(trigger) }

// Run reconciles whenever a trigger asks for it, and every resync period to
// correct what the watches may have missed, until ctx ends. Reconciles run
// one at a time.
func (c *Controller) Run(ctx context.Context, resync time.Duration) {
	go func() {
		<-ctx.Done()
		c.queue.q.ShutDown()
	}()
	go func() {
		tick := time.NewTicker(resync)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				c.Enqueue(TriggerResync)
			}
		}
	}()
	for c.processNext(ctx) {
	}
}

// processNext runs one reconcile from the queue; false once it shut down.
func (c *Controller) processNext(ctx context.Context) bool {
	key, shutdown := c.queue.q.Get()
	if shutdown {
		return false
	}
	defer c.queue.q.Done(key)
	err := c.reconcileNext(ctx)
	if ctx.Err() != nil {
		return true // shutting down: the queue ends the loop
	}
	if retryable(err) {
		c.queue.note(TriggerRetry)
		c.queue.q.AddRateLimited(key)
		return true
	}
	c.queue.q.Forget(key)
	return true
}

// outcome is what one reconcile did, for the deferred finish.
type outcome struct {
	start    time.Time
	triggers []string
	// snap is the revision this reconcile loaded; nil for a reconcile of
	// the last good revision.
	snap     *Snapshot
	revision string
	// gistsRevision is the gists repository's, when there is one.
	gistsRevision string
	// actor made the new revision: see syncActor.
	actor   string
	changed bool
	err     error
}

// reconcileNext is one reconcile: load the pending revision if there is
// one (else take the last good one), plan, render, apply, prune, and in one
// deferred finish write status, metrics, Events and audit.
func (c *Controller) reconcileNext(ctx context.Context) error {
	snap, triggers := c.queue.take()
	o := &outcome{start: time.Now(), triggers: triggers, snap: snap}
	defer c.finish(ctx, o)
	d := c.lastGood()
	if snap != nil {
		o.revision, o.gistsRevision = snap.Revision, snap.GistsRevision
		o.actor = syncActor(*snap, d)
		c.setAttempt(snap.Revision)
		loading := time.Now()
		d, o.err = c.loadConfined(ctx, *snap)
		c.metrics.ObservePhase("load", time.Since(loading))
		if o.err != nil {
			return o.err
		}
	}
	if d == nil {
		o.err = ErrNotReady
		return o.err
	}
	o.revision, o.gistsRevision = d.revision, d.gistsRevision
	o.changed, o.err = c.reconcile(ctx, d, snap != nil)
	if snap != nil && retryable(o.err) && c.lastGood() != d {
		// Nothing of this revision was recorded: retry it, not the last
		// good one, so no deploy it starts is lost.
		c.queue.putBack(snap)
	}
	return o.err
}

// finish records a reconcile's outcome by one rule, whatever triggered it:
// status, metrics, logs, Events, and the audit record of a new revision.
// Only news costs an Event or a record (see isNews).
func (c *Controller) finish(ctx context.Context, o *outcome) {
	if errors.Is(o.err, ErrNotReady) {
		return // nothing to reconcile yet: no revision was ever valid
	}
	took := time.Since(o.start)
	news := c.setOutcome(o)
	result := syncResult(o.err)
	c.metrics.ObserveSync(result, took)
	revisions := []any{"revision", o.revision}
	if o.gistsRevision != "" {
		revisions = append(revisions, "gists_revision", o.gistsRevision)
	}
	if o.err == nil {
		c.metrics.SetRevision(o.revision)
		c.log.Info("sync succeeded", append(revisions, "triggers", o.triggers, "changed", o.changed, "duration", took)...)
		if news {
			c.events.Normal("Synced", applied(o.revision, o.gistsRevision))
		}
	} else {
		c.log.Error("sync failed", append(revisions, "triggers", o.triggers, "result", result, "error", o.err)...)
		if news {
			c.events.Warning("SyncFailed", eventMessage(o.err))
		}
	}
	if o.snap != nil && news {
		c.auditSync(ctx, *o.snap, o.actor, o.err)
	}
}

// setOutcome writes the reconcile's outcome into the sync status and says
// whether it is news, worth an audit record and an Event: the first
// reconcile after a start, a change to the cluster or to the state, a new
// revision that failed, or a sync status that changed (a success after a
// failure, another error). A reconcile that changes nothing (the same file
// in a new commit, a periodic resync) costs no write, and a failure
// repeated by its retries is told once.
//
// A reconcile of the last good revision leaves alone an error that says the
// newest revision could not be loaded or the repository cannot be read:
// those stand until a revision applies. The revision shown is the last one
// whose objects were applied, even partly.
func (c *Controller) setOutcome(o *outcome) bool {
	c.statusMu.Lock()
	defer c.generation.Add(1)
	defer c.statusMu.Unlock()
	news := !c.reconciled || o.changed || o.snap != nil && o.err != nil
	c.reconciled = true
	if o.snap != nil {
		c.fetchFailing = false
	} else if c.fetchFailing || c.status.Attempted != "" && c.status.Attempted != o.revision {
		return news
	}
	before := c.status
	c.status.At = time.Now().UTC()
	c.status.Status, c.status.Error = SyncSynced, ""
	if o.err != nil {
		c.status.Status, c.status.Error = SyncError, o.err.Error()
	}
	if d := c.lastGood(); d != nil {
		c.status.Revision, c.status.GistsRevision = d.revision, d.gistsRevision
	}
	return news || before.Status != c.status.Status || before.Error != c.status.Error
}

func syncResult(err error) string {
	var invalid *InvalidError
	switch {
	case err == nil:
		return resultSuccess
	case errors.As(err, &invalid):
		return resultInvalid
	default:
		return resultFailed
	}
}
