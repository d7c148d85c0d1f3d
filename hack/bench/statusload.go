package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
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
	// Bodies is how many different answers the clients saw: under a
	// rollout, the cached body is replaced as services change.
	Bodies int
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
	deadline := time.Now().Add(t.cfg.statusFor)
	busy, err := t.operatorRequestsDuring(ctx, func() {
		lat, took, _ = t.loadStatus(ctx, &t.res.Status, func() bool { return time.Now().After(deadline) })
	})
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

// loadStatus runs the clients until done says to stop and returns the
// latency of every successful call, how long the load ran and how many
// different bodies came back; failed calls are counted in into.Errors.
func (t *trial) loadStatus(ctx context.Context, into *statusResult, done func() bool) ([]time.Duration, time.Duration, int) {
	workers := t.cfg.statusWorkers
	lats := make([][]time.Duration, workers)
	errs := make([]int, workers)
	var mu sync.Mutex
	bodies := map[uint32]bool{}
	var stop atomic.Bool
	start := time.Now()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			var buf bytes.Buffer
			for !stop.Load() && ctx.Err() == nil {
				t0 := time.Now()
				code, sum, err := t.op.sum(ctx, "/status", &buf)
				if err != nil || code != http.StatusOK {
					errs[w]++
					continue
				}
				lats[w] = append(lats[w], time.Since(t0))
				mu.Lock()
				bodies[sum] = true
				mu.Unlock()
			}
		})
	}
	for !done() && ctx.Err() == nil {
		time.Sleep(20 * time.Millisecond)
	}
	stop.Store(true)
	wg.Wait()
	took := time.Since(start)
	var all []time.Duration
	for w := range workers {
		all = append(all, lats[w]...)
		into.Errors += errs[w]
	}
	return all, took, len(bodies)
}

// statusUnderRollout measures GET /status while every service rolls out a
// new version, so that the cached answer is replaced again and again. The
// API server requests one call costs are the operator's requests during
// that rollout minus those of a rollout of the same size just before
// without the load, per call.
func (t *trial) statusUnderRollout(ctx context.Context) error {
	sleep(ctx, settleTime)
	quiet, _, err := t.rolloutAll(ctx, "5", nil)
	if err != nil {
		return err
	}
	s := &t.res.StatusRollout
	var lat []time.Duration
	busy, took, err := t.rolloutAll(ctx, "6", func(done func() bool) {
		lat, _, s.Bodies = t.loadStatus(ctx, s, done)
	})
	if err != nil {
		return err
	}
	s.Calls, s.IdleRequests, s.APIRequests = len(lat), quiet, busy
	s.PerSecond = float64(len(lat)) / took.Seconds()
	s.P50, s.P99 = percentile(lat, 50), percentile(lat, 99)
	logf("run %d: GET /status during a rollout of %d services (%s): %d calls (%d errors), %.0f/s, p50 %s, p99 %s, %d different bodies, %.0f API server requests (%.0f in the rollout without load)",
		t.n, t.services, took.Round(time.Millisecond), s.Calls, s.Errors, s.PerSecond, s.P50.Round(time.Microsecond), s.P99.Round(time.Microsecond),
		s.Bodies, busy, quiet)
	return nil
}

// rolloutAll commits a new version of every service, calls the webhook and
// waits until every service is green at it, running load (when given)
// meanwhile. It returns the operator's API server requests in that window
// and the window's length.
func (t *trial) rolloutAll(ctx context.Context, major string, load func(done func() bool)) (float64, time.Duration, error) {
	version := fmt.Sprintf("%s.%d.0", major, t.n)
	for i := range t.services {
		t.versions[serviceName(i)] = version
	}
	var took time.Duration
	var waitErr error
	requests, err := t.operatorRequestsDuring(ctx, func() {
		start := time.Now()
		var finished atomic.Bool
		loaded := make(chan struct{})
		go func() {
			defer close(loaded)
			if load != nil {
				load(finished.Load)
			}
		}()
		waitErr = t.rollout(ctx, version)
		took = time.Since(start)
		finished.Store(true)
		<-loaded
	})
	if err == nil {
		err = waitErr
	}
	return requests, took, err
}

// rollout applies the file with every service at version and waits until
// all are green at it.
func (t *trial) rollout(ctx context.Context, version string) error {
	if _, err := t.applyCommit(ctx, "every service at "+version, true); err != nil {
		return err
	}
	return poll(ctx, t.patience(), 250*time.Millisecond, "every service green at "+version, func(ctx context.Context) (bool, error) {
		s, err := t.op.status(ctx)
		if err != nil {
			return false, err
		}
		for _, svc := range s.Services {
			if svc.Version != version || svc.Status != "green" {
				return false, nil
			}
		}
		return len(s.Services) == t.services, nil
	})
}
