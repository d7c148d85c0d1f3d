package main

import (
	"context"
	"fmt"
	"time"
)

// deployResult is the latency of sequential deploys of one service.
type deployResult struct {
	P50, P95 time.Duration
	Failed   int
}

// deploys deploys a new version of one service, one after the other, and
// times each from the 202 of POST /deploy until GET /deploys/{id}?wait=
// answers succeeded.
func (t *trial) deploys(ctx context.Context) error {
	service := serviceName(0)
	var lat []time.Duration
	for i := range t.cfg.deploys {
		version := fmt.Sprintf("1.%d.%d", t.n, i+1)
		d, err := t.op.deploy(ctx, service, version)
		if err != nil {
			return err
		}
		accepted := time.Now()
		if d, err = t.op.waitDeploy(ctx, d.ID, time.Minute); err != nil {
			return err
		}
		lat = append(lat, time.Since(accepted))
		if d.Status != "succeeded" {
			t.res.Deploys.Failed++
			logf("run %d: deploy %s %s ended %s: %s %s", t.n, service, version, d.Status, d.Reason, d.Message)
		}
	}
	t.res.Deploys.P50, t.res.Deploys.P95 = percentile(lat, 50), percentile(lat, 95)
	logf("run %d: %d deploys: p50 %s, p95 %s, %d not succeeded", t.n, len(lat),
		t.res.Deploys.P50.Round(time.Millisecond), t.res.Deploys.P95.Round(time.Millisecond), t.res.Deploys.Failed)
	return nil
}
