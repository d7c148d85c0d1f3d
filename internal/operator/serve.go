package operator

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/envop/envop/internal/controller"
	"github.com/envop/envop/internal/source"
)

// serve runs the loops and the HTTP server until ctx ends.
func serve(ctx context.Context, opts Options, p Parts) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	handler, closeAPI, err := newAPI(ctx, opts, p)
	if err != nil {
		return err
	}
	defer closeAPI()
	srv, ln, err := httpServer(opts, handler)
	if err != nil {
		return err
	}
	var wg sync.WaitGroup
	run := func(f func()) {
		wg.Add(1)
		go func() { defer wg.Done(); f() }()
	}
	run(func() { p.Poller.Run(ctx, syncer(p.Controller)) })
	run(func() { p.Controller.Run(ctx, opts.ResyncInterval) })
	run(func() { p.Tracker.Run(ctx, p.Monitor.Changed()) })
	run(func() { countServices(ctx, p) })
	errc := make(chan error, 1)
	go func() {
		if opts.TLSCertFile != "" {
			errc <- srv.ServeTLS(ln, opts.TLSCertFile, opts.TLSKeyFile)
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	select {
	case <-ctx.Done():
	case err = <-errc:
		err = fmt.Errorf("http server: %w", err)
	}
	shutdown, done := context.WithTimeout(context.Background(), 10*time.Second)
	defer done()
	_ = srv.Shutdown(shutdown)
	cancel()
	wg.Wait()
	opts.Log.Info("operator stopped")
	return err
}

// syncer hands each new revision, or fetch error, to the controller.
func syncer(c *controller.Controller) func(context.Context, *source.Snapshot, error) {
	return func(ctx context.Context, snap *source.Snapshot, err error) {
		if err != nil {
			c.FetchFailed(err)
			return
		}
		_ = c.Sync(ctx, controller.Snapshot{Revision: snap.Revision, Files: snap.Files, Author: snap.Author})
	}
}

// countServices keeps the services-by-status gauge equal to what /status
// shows (a service waiting for its first version counts as orange there),
// rebuilt whenever the watches, the state or the sync may have changed it.
func countServices(ctx context.Context, p Parts) {
	b := &backend{p: p}
	changed, unsubscribe := p.Monitor.Subscribe()
	defer unsubscribe()
	seen := ^uint64(0)
	for {
		if v := b.StatusVersion(); v != seen {
			seen = v
			counts := map[string]int{}
			for _, s := range b.Status().Services {
				counts[s.Status]++
			}
			p.Metrics.SetServices(counts)
			// A rollout changes the watches many times a second, and each
			// count builds the whole status: once a second is enough.
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-changed:
		case <-time.After(5 * time.Second): // state and sync changes are not signalled
		}
	}
}

func httpServer(opts Options, api http.Handler) (*http.Server, net.Listener, error) {
	ln := opts.Listener
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", opts.Listen); err != nil {
			return nil, nil, fmt.Errorf("listen on %s: %w", opts.Listen, err)
		}
	}
	srv := &http.Server{
		Handler:           api,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute,
		// No WriteTimeout: GET /deploys/{id}?wait= holds a response open.
		IdleTimeout:    2 * time.Minute,
		MaxHeaderBytes: 64 << 10,
	}
	return srv, ln, nil
}
