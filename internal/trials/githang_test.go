package trials

import (
	"context"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/envop/envop/internal/testcluster"
	"github.com/envop/envop/internal/testgit"
)

// TestTrialGitHang replaces the https git server by one that accepts
// connections and never answers: each fetch fails after --git-timeout with
// a timeout error in /status, the operator closes the connection it gave
// up on (they do not pile up), the API keeps answering, and once the real
// server is back a commit made during the hang is applied.
func TestTrialGitHang(t *testing.T) {
	t.Parallel()
	rep := record(t, "a git server that accepts connections and never answers")
	const gitTimeout = 3 * time.Second
	outage := pick(15*time.Second, 60*time.Second)
	ns := testcluster.Namespace(t)
	r := newRepo(t, true)
	r.commit(manifest(ns, "web=1.0.0"))
	g := testgit.ServeTLS(t, "")
	op := newProc(t, ns, g.Add(r.Bare), "--git-branch", "main", "--git-ca-file", g.CAFile(),
		"--poll-interval", "1s", "--git-timeout", gitTimeout.String())
	op.start()
	goBefore, fdsBefore := metricInt(t, op, "go_goroutines"), metricInt(t, op, "process_open_fds")

	g.Stop()
	h := hangOn(t, strings.TrimPrefix(g.URL(), "https://"))
	hung := time.Now()
	probes := startProbes(op, "/status", "/audit?limit=10", "/healthz", "/readyz")
	var syncErr, lastSync string
	shownWithin := gitTimeout + 30*time.Second
	t.Cleanup(func() { // the row says what was seen when no timeout was
		if syncErr == "" {
			rep.add("no timeout error in /status within %s of the hang (last: %s)", shownWithin, truncate(lastSync, 110))
		}
	})
	shown := eventually(t, shownWithin, "status shows the fetch timeout", func() (bool, string) {
		s, err := op.status()
		if err != nil {
			return false, err.Error()
		}
		lastSync = "sync " + s.Sync.Status + " " + s.Sync.Error
		if s.Sync.Status == "error" && strings.Contains(s.Sync.Error, "timed out") {
			syncErr = s.Sync.Error
		}
		return syncErr != "", lastSync
	})
	rev := r.commit(manifest(ns, "web=1.1.0"))
	time.Sleep(time.Until(hung.Add(outage)))
	goDuring, fdsDuring := metricInt(t, op, "go_goroutines"), metricInt(t, op, "process_open_fds")
	accepted, requests, open, peak := h.stats()
	h.close()
	g.Start()
	back := time.Now()
	p := probes.stop()
	resumed := eventually(t, time.Minute, "sync resumed with the new commit", func() (bool, string) {
		s, err := op.status()
		if err != nil {
			return false, err.Error()
		}
		if ok, why := allGreenAt(s, 1, "1.1.0"); !ok {
			return false, why
		}
		return s.Sync.Status == "synced" && s.Revision == rev, "sync " + s.Sync.Status + " at " + s.Revision
	})

	// A fetch starts at most every gitTimeout (plus the poll interval):
	// one connection per attempt, and one more for the attempt that was
	// running when the hang began.
	maxAttempts := int(back.Sub(hung)/gitTimeout) + 2
	if shown > gitTimeout+10*time.Second {
		t.Errorf("the timeout error showed %s after the hang began, want within --git-timeout %s and a poll", shown, gitTimeout)
	}
	if p.calls == 0 || p.ok != p.calls {
		t.Errorf("API calls during the hang: %d of %d answered 200 within %s (%s)", p.ok, p.calls, probeTimeout, strings.Join(p.failures, "; "))
	}
	if accepted == 0 || accepted > maxAttempts {
		t.Errorf("%d connections accepted by the hanging server in %s, want 1 to %d (one per fetch attempt)", accepted, back.Sub(hung).Round(time.Second), maxAttempts)
	}
	if peak > 2 || open > 1 {
		t.Errorf("connections to the hanging server: %d open at once at the peak, %d at the end; want at most 2 and 1: the operator must close those it gave up on", peak, open)
	}
	if goDuring > goBefore+20 || fdsDuring > fdsBefore+5 {
		t.Errorf("the operator grew during the hang: goroutines %d → %d, open fds %d → %d", goBefore, goDuring, fdsBefore, fdsDuring)
	}
	if !op.running() {
		t.Errorf("the operator exited")
	}
	rep.add("hang %s, --git-timeout %s, poll interval 1s; timeout error shown after %s (%q)",
		back.Sub(hung).Round(100*time.Millisecond), gitTimeout, shown.Round(100*time.Millisecond), truncate(syncErr, 110))
	rep.add("hanging server: %d connections accepted (at most %d allowed), %d requests held, %d open at once at most, %d open at the end",
		accepted, maxAttempts, requests, peak, open)
	rep.add("GET /status, /audit, /healthz, /readyz answered 200 %d/%d times during it (slowest %s)", p.ok, p.calls, p.slowest.Round(time.Millisecond))
	rep.add("goroutines %d → %d, open fds %d → %d", goBefore, goDuring, fdsBefore, fdsDuring)
	rep.add("commit made during the hang applied %s after the server came back", resumed.Round(100*time.Millisecond))
}

// hangingGit takes a git server's address and answers no request: it
// completes the TLS handshake (with the certificate of every httptest TLS
// server, the one testgit serves) and holds each request until the client
// gives up or close is called.
type hangingGit struct {
	srv     *httptest.Server
	release chan struct{}

	mu                             sync.Mutex
	accepted, requests, open, peak int
}

func hangOn(t *testing.T, addr string) *hangingGit {
	t.Helper()
	h := &hangingGit{release: make(chan struct{})}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen on the git server's address %s: %v", addr, err)
	}
	h.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		h.count(func() { h.requests++ })
		select {
		case <-r.Context().Done(): // the client closed the connection
		case <-h.release:
		}
	}))
	h.srv.Listener.Close()
	h.srv.Listener = ln
	h.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	h.srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		switch s {
		case http.StateNew:
			h.count(func() { h.accepted++; h.open++; h.peak = max(h.peak, h.open) })
		case http.StateClosed, http.StateHijacked:
			h.count(func() { h.open-- })
		}
	}
	h.srv.StartTLS()
	t.Cleanup(h.close)
	return h
}

func (h *hangingGit) count(f func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	f()
}

func (h *hangingGit) stats() (accepted, requests, open, peak int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.accepted, h.requests, h.open, h.peak
}

// close releases every held request and frees the address.
func (h *hangingGit) close() {
	select {
	case <-h.release:
		return
	default:
	}
	close(h.release)
	h.srv.CloseClientConnections()
	h.srv.Close()
}

// probeTimeout is how long one API call of the probes may take.
const probeTimeout = 5 * time.Second

// probes call API paths in turn every 200ms until stopped.
type probes struct {
	done chan struct{}
	once sync.Once
	wg   sync.WaitGroup
	mu   sync.Mutex
	res  probeResult
}

type probeResult struct {
	calls, ok int
	slowest   time.Duration
	failures  []string // the first few
}

// startProbes starts the probes; they stop when the test ends, if not
// before.
func startProbes(op *proc, paths ...string) *probes {
	p := &probes{done: make(chan struct{})}
	op.t.Cleanup(func() { p.stop() })
	p.wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-p.done:
				return
			case <-time.After(200 * time.Millisecond):
			}
			p.probe(op, paths[i%len(paths)])
		}
	})
	return p
}

func (p *probes) probe(op *proc, path string) {
	ctx, cancel := context.WithTimeout(op.t.Context(), probeTimeout)
	defer cancel()
	start := time.Now()
	code, _, err := op.callCtx(ctx, "GET", path, nil)
	took := time.Since(start)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.res.calls++
	p.res.slowest = max(p.res.slowest, took)
	if err == nil && code == http.StatusOK {
		p.res.ok++
	} else if len(p.res.failures) < 5 {
		p.res.failures = append(p.res.failures, "GET "+path+": "+strconv.Itoa(code)+" "+errString(err))
	}
}

// stop ends the probes and returns their results.
func (p *probes) stop() probeResult {
	p.once.Do(func() { close(p.done) })
	p.wg.Wait()
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.res
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// metricInt reads an integer gauge of the operator's /metrics.
func metricInt(t *testing.T, op *proc, name string) int {
	t.Helper()
	v, err := strconv.ParseFloat(metric(op, name), 64)
	if err != nil {
		t.Fatalf("metric %s: %v", name, err)
	}
	return int(v)
}
