package main

import (
	"context"
	"time"
)

// localResult is the no-op resync and commit latency of an operator that
// reads the repository's folder on disk: what the git server adds to the
// same measures is the difference.
type localResult struct {
	Noop    noopResult
	Webhook commitResult
}

// localFolder stops the polling operator and starts one on the same
// namespace that reads the repository's folder, no git server between,
// then measures the no-op resync and commits by webhook again.
func (t *trial) localFolder(ctx context.Context) error {
	t.op.stop()
	a := t.opArgs
	a.name, a.poll, a.remote = "operator-folder", time.Hour, a.repo
	op, err := startOperator(t.cfg.envop, a, t.client)
	if err != nil {
		return err
	}
	t.op = op
	if err := op.waitReady(ctx, t.patience()); err != nil {
		return err
	}
	if err := op.waitSynced(ctx, t.patience()); err != nil {
		return err
	}
	if t.res.Local.Noop, err = t.measureNoop(ctx); err != nil {
		return err
	}
	t.res.Local.Webhook, err = t.commitLatency(ctx, serviceName(1), "4", true)
	logf("run %d: folder: no-op resync in %s, commit → applied %s", t.n,
		t.res.Local.Noop.Duration.Round(time.Millisecond), t.res.Local.Webhook.Applied.Round(time.Millisecond))
	return err
}
