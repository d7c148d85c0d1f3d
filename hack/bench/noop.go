package main

import (
	"context"
	"time"
)

// noopResult is a sync of a commit that changes nothing.
type noopResult struct {
	Writes   writes
	Duration time.Duration // webhook sent → the new revision applied
	Sync     time.Duration // the sync alone (envop_sync_duration_seconds)
}

// settleTime lets writes that follow an event land before counters are
// read: deploy outcomes after a rollout, the audit record after a sync.
const settleTime = 2 * time.Second

// noop commits the same content again, triggers the webhook and counts the
// API server's write requests from its own metrics until the sync is done.
func (t *trial) noop(ctx context.Context) error {
	r, err := t.measureNoop(ctx)
	t.res.Noop = r
	if err == nil {
		logf("run %d: no-op resync in %s: %.0f object writes %s, %.0f ConfigMap writes, %.0f operator requests",
			t.n, r.Duration.Round(time.Millisecond), r.Writes.Objects, r.Writes.ObjectDetail, r.Writes.ConfigMaps, r.Writes.Operator)
	}
	return err
}

func (t *trial) measureNoop(ctx context.Context) (noopResult, error) {
	var r noopResult
	sleep(ctx, settleTime)
	before, err := t.apiserverSamples(ctx)
	if err != nil {
		return r, err
	}
	syncBefore, err := t.syncSeconds(ctx)
	if err != nil {
		return r, err
	}
	start, err := t.applyCommit(ctx, "the same content again", true)
	if err != nil {
		return r, err
	}
	r.Duration = time.Since(start)
	syncAfter, err := t.syncSeconds(ctx)
	if err != nil {
		return r, err
	}
	r.Sync = seconds(syncAfter - syncBefore)
	sleep(ctx, settleTime)
	after, err := t.apiserverSamples(ctx)
	if err != nil {
		return r, err
	}
	r.Writes = countWrites(before, after)
	return r, nil
}

// applyCommit commits the manifest, calls the webhook if asked, and waits
// until the operator applied the commit. It returns the time of the commit.
func (t *trial) applyCommit(ctx context.Context, message string, webhook bool) (time.Time, error) {
	rev, err := t.repo.commit(t.manifest(), message)
	if err != nil {
		return time.Time{}, err
	}
	start := time.Now()
	if webhook {
		if err := t.op.webhook(ctx); err != nil {
			return start, err
		}
	}
	return start, t.op.waitRevision(ctx, rev, 5*time.Minute)
}

// syncSeconds is the time the operator spent in successful syncs so far.
func (t *trial) syncSeconds(ctx context.Context) (float64, error) {
	m, err := t.op.metrics(ctx)
	if err != nil {
		return 0, err
	}
	return m.sum("envop_sync_duration_seconds_sum", labelIs("result", "success")), nil
}

// waitRevision waits until the operator reports rev as the revision it
// last applied. It reads /metrics, which stays small at any N, rather
// than /status.
func (p *operatorProc) waitRevision(ctx context.Context, rev string, timeout time.Duration) error {
	return poll(ctx, timeout, 25*time.Millisecond, "revision "+rev[:8]+" applied", func(ctx context.Context) (bool, error) {
		m, err := p.metrics(ctx)
		if err != nil {
			return false, err
		}
		return m.sum("envop_last_synced_revision_info", labelIs("revision", rev)) == 1, nil
	})
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
