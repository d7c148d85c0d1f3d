package main

import (
	"context"
	"net/http"
	"sync"
	"time"
)

// statusResult is GET /status under concurrent load.
type statusResult struct {
	Calls, Errors int
	PerSecond     float64
	P50, P99      time.Duration
	// APIRequests the operator sent to the API server during the load, and
	// during an idle window of the same length just before (background).
	APIRequests, IdleRequests float64
}

// perCall is the API server requests one GET /status cost, background
// taken out.
func (s statusResult) perCall() float64 {
	if s.Calls == 0 {
		return 0
	}
	return max(s.APIRequests-s.IdleRequests, 0) / float64(s.Calls)
}

// statusLoad runs concurrent clients of GET /status for a while and counts
// the operator's requests to the API server meanwhile, from the API
// server's flow-control metrics.
func (t *trial) statusLoad(ctx context.Context) error {
	sleep(ctx, settleTime) // the last deploy's records
	idle, err := t.operatorRequestsDuring(ctx, func() { sleep(ctx, t.cfg.statusFor) })
	if err != nil {
		return err
	}
	var lat []time.Duration
	var took time.Duration
	busy, err := t.operatorRequestsDuring(ctx, func() { lat, took = t.loadStatus(ctx) })
	if err != nil {
		return err
	}
	s := &t.res.Status
	s.Calls, s.IdleRequests, s.APIRequests = len(lat), idle, busy
	s.PerSecond = float64(len(lat)) / took.Seconds()
	s.P50, s.P99 = percentile(lat, 50), percentile(lat, 99)
	logf("run %d: GET /status: %d calls (%d errors), %.0f/s, p50 %s, p99 %s, %.0f API server requests (%.0f idle)",
		t.n, s.Calls, s.Errors, s.PerSecond, s.P50.Round(time.Microsecond), s.P99.Round(time.Microsecond), busy, idle)
	return nil
}

func (t *trial) operatorRequestsDuring(ctx context.Context, f func()) (float64, error) {
	before, err := t.apiserverSamples(ctx)
	if err != nil {
		return 0, err
	}
	f()
	after, err := t.apiserverSamples(ctx)
	if err != nil {
		return 0, err
	}
	return operatorRequests(after) - operatorRequests(before), nil
}

// loadStatus returns the latency of every successful call and how long the
// load ran; failed calls are counted in the result.
func (t *trial) loadStatus(ctx context.Context) ([]time.Duration, time.Duration) {
	workers := t.cfg.statusWorkers
	lats := make([][]time.Duration, workers)
	errs := make([]int, workers)
	deadline := time.Now().Add(t.cfg.statusFor)
	start := time.Now()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for time.Now().Before(deadline) && ctx.Err() == nil {
				t0 := time.Now()
				if code, err := t.op.get(ctx, "/status", nil); err != nil || code != http.StatusOK {
					errs[w]++
					continue
				}
				lats[w] = append(lats[w], time.Since(t0))
			}
		})
	}
	wg.Wait()
	took := time.Since(start)
	var all []time.Duration
	for w := range workers {
		all = append(all, lats[w]...)
		t.res.Status.Errors += errs[w]
	}
	return all, took
}
