package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/url"
	"time"
)

// commitResult is the mean latency from a commit to its revision applied
// and to the changed service green in /status.
type commitResult struct {
	Applied, Green time.Duration
}

// webhookCommits commits version changes and triggers the webhook at once.
func (t *trial) webhookCommits(ctx context.Context) error {
	r, err := t.commitLatency(ctx, serviceName(1), "2", true)
	t.res.Webhook = r
	return err
}

// memory reads the first operator's peak memory after all its phases, then
// stops it.
func (t *trial) memory(context.Context) error {
	peak, current, err := t.op.memory()
	if err != nil {
		return err
	}
	t.res.PeakRSS, t.res.RSS = peak, current
	logf("run %d: operator peak RSS %.1f MiB (now %.1f MiB)", t.n, mib(peak), mib(current))
	t.op.stop()
	t.op = nil
	return nil
}

// pollingCommits starts a second operator on the same namespace that polls
// the repository every --poll-interval, and commits without a webhook.
func (t *trial) pollingCommits(ctx context.Context) error {
	op, err := t.startOperator("operator-polling", t.cfg.pollInterval)
	if err != nil {
		return err
	}
	t.op = op
	if err := op.waitReady(ctx, t.patience()); err != nil {
		return err
	}
	r, err := t.commitLatency(ctx, serviceName(2), "3", false)
	t.res.Polling = r
	return err
}

// commitLatency commits a new version of service, t.cfg.commits times,
// and times each from the commit until the operator applied it and until
// the service is green at that version.
func (t *trial) commitLatency(ctx context.Context, service, major string, webhook bool) (commitResult, error) {
	var applied, green []time.Duration
	for k := range t.cfg.commits {
		if !webhook {
			// A commit made right after a poll found the last one would
			// always wait a whole interval: commit at a random phase.
			sleep(ctx, rand.N(t.cfg.pollInterval))
		}
		version := fmt.Sprintf("%s.%d.%d", major, t.n, k+1)
		t.versions[service] = version
		start, err := t.applyCommit(ctx, "deploy "+service+" "+version, webhook)
		if err != nil {
			return commitResult{}, err
		}
		applied = append(applied, time.Since(start))
		if err := t.waitServiceGreen(ctx, service, version); err != nil {
			return commitResult{}, err
		}
		green = append(green, time.Since(start))
	}
	r := commitResult{Applied: mean(applied), Green: mean(green)}
	logf("run %d: commit → applied %s, → green %s (mean of %d)", t.n, r.Applied.Round(time.Millisecond), r.Green.Round(time.Millisecond), len(applied))
	return r, nil
}

func (t *trial) waitServiceGreen(ctx context.Context, service, version string) error {
	return poll(ctx, 5*time.Minute, 50*time.Millisecond, service+" green at "+version, func(ctx context.Context) (bool, error) {
		var s serviceView
		if _, err := t.op.get(ctx, "/status/"+url.PathEscape(service), &s); err != nil {
			return false, err
		}
		return s.Version == version && s.Status == "green", nil
	})
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }
