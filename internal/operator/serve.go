package operator

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/envop/envop/internal/controller"
	"github.com/envop/envop/internal/metrics"
	"github.com/envop/envop/internal/source"
	"github.com/envop/envop/internal/tlsreload"
)

// serve runs the loops and the HTTP servers until ctx ends.
func serve(ctx context.Context, opts Options, p Parts) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	handler, closeAPI, err := newAPI(ctx, opts, p)
	if err != nil {
		return err
	}
	defer closeAPI()
	p.Metrics.CountServices(func() map[string]int { return countServices(p) })
	servers, err := httpServers(opts, handler, p.Metrics)
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
	errc := make(chan error, len(servers))
	for _, s := range servers {
		go func() { errc <- s.serve() }()
	}
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	shutdown, done := context.WithTimeout(context.Background(), 10*time.Second)
	defer done()
	for _, s := range servers {
		_ = s.srv.Shutdown(shutdown)
	}
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
		next := controller.Snapshot{Revision: snap.Revision, Files: snap.Files, Author: snap.Author}
		if snap.Gists != nil {
			next.Gists, next.GistsRevision, next.GistsAuthor = snap.Gists.Files, snap.Gists.Revision, snap.Gists.Author
		}
		c.Submit(next)
	}
}

// countServices counts the services by status as GET /status shows them (a
// service waiting for its first version counts as orange there).
func countServices(p Parts) map[string]int {
	counts := map[string]int{}
	for _, s := range (&backend{p: p}).Status().Services {
		counts[s.Status]++
	}
	return counts
}

// httpServer is one of the operator's HTTP servers and what it listens on.
type httpServer struct {
	name string
	srv  *http.Server
	ln   net.Listener
}

func (s httpServer) serve() error {
	var err error
	if s.srv.TLSConfig != nil {
		err = s.srv.ServeTLS(s.ln, "", "") // the certificate comes from TLSConfig
	} else {
		err = s.srv.Serve(s.ln)
	}
	return fmt.Errorf("%s server: %w", s.name, err)
}

// httpServers listens for the API and, with --metrics-listen, for
// Prometheus apart from it; with --tls-cert-file the API serves HTTPS with
// a certificate reloaded when its files change.
func httpServers(opts Options, api http.Handler, m *metrics.Metrics) ([]httpServer, error) {
	var tlsConfig *tls.Config
	if opts.TLSCertFile != "" {
		certs, err := tlsreload.New(tlsreload.Options{
			CertFile: opts.TLSCertFile, KeyFile: opts.TLSKeyFile, Log: opts.Log, Reloaded: m.CertReloaded,
		})
		if err != nil {
			return nil, fmt.Errorf("serving certificate: %w", err)
		}
		tlsConfig = &tls.Config{GetCertificate: certs.GetCertificate, MinVersion: tls.VersionTLS12}
	}
	ln, err := listen(opts.Listener, opts.Listen)
	if err != nil {
		return nil, err
	}
	apiServer := httpServer{name: "http", ln: ln, srv: &http.Server{
		Handler:           api,
		TLSConfig:         tlsConfig,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute,
		// No WriteTimeout: GET /deploys/{id}?wait= holds a response open.
		IdleTimeout:    2 * time.Minute,
		MaxHeaderBytes: 64 << 10,
	}}
	if !opts.metricsApart() {
		return []httpServer{apiServer}, nil
	}
	if ln, err = listen(opts.MetricsListener, opts.MetricsListen); err != nil {
		_ = apiServer.ln.Close()
		return nil, err
	}
	return []httpServer{apiServer, {name: "metrics", ln: ln, srv: metricsServer(m)}}, nil
}

// metricsServer serves /metrics alone, to Prometheus; probes stay on the
// API's address, the one they are meant to check.
func metricsServer(m *metrics.Metrics) *http.Server {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	return &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
	}
}

// listen returns ln when given (tests, embedding), else listens on addr.
func listen(ln net.Listener, addr string) (net.Listener, error) {
	if ln != nil {
		return ln, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	return ln, nil
}
