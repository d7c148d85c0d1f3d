package source

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/envop/envop/internal/testgit"
	"github.com/envop/envop/internal/testlog"
)

type event struct {
	snap *Snapshot
	err  error
}

// countingSource signals after each Fetch returns.
type countingSource struct {
	Source
	fetched chan struct{}
}

func (c *countingSource) Fetch(ctx context.Context) (*Snapshot, error) {
	snap, err := c.Source.Fetch(ctx)
	c.fetched <- struct{}{}
	return snap, err
}

// startPoller runs a Poller over src until the test ends and returns its
// callbacks.
func startPoller(t *testing.T, src Source, interval time.Duration) (*Poller, <-chan event) {
	t.Helper()
	log, _ := testlog.New()
	p := NewPoller(src, interval, 0, log)
	events := make(chan event, 16)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.Run(ctx, func(_ context.Context, snap *Snapshot, err error) { events <- event{snap, err} })
	}()
	t.Cleanup(func() { cancel(); <-done })
	return p, events
}

func nextEvent(t *testing.T, events <-chan event, within time.Duration) event {
	t.Helper()
	select {
	case ev := <-events:
		return ev
	case <-time.After(within):
		t.Fatalf("no callback within %v", within)
		return event{}
	}
}

func TestPollerPicksUpCommitWithinInterval(t *testing.T) {
	up := testgit.NewRepo(t)
	first := up.Commit("first", map[string]string{"environments.bitesize": "v1"})
	const interval = 300 * time.Millisecond
	_, events := startPoller(t, newTestGit(t, GitOptions{URL: fileURL(up.Bare), Branch: "main"}), interval)

	if ev := nextEvent(t, events, 10*time.Second); ev.err != nil || ev.snap.Revision != first {
		t.Fatalf("first callback: %+v", ev)
	}
	second := up.Commit("second", map[string]string{"environments.bitesize": "v2"})
	start := time.Now()
	// Generous: one interval plus jitter plus a fetch on a loaded machine.
	ev := nextEvent(t, events, 10*time.Second)
	if ev.err != nil || ev.snap.Revision != second {
		t.Fatalf("second callback: %+v", ev)
	}
	t.Logf("new commit seen after %v (interval %v)", time.Since(start), interval)
}

func TestPollerTrigger(t *testing.T) {
	up := testgit.NewRepo(t)
	first := up.Commit("first", map[string]string{"environments.bitesize": "v1"})
	src := &countingSource{newTestGit(t, GitOptions{URL: fileURL(up.Bare), Branch: "main"}), make(chan struct{}, 64)}
	p, events := startPoller(t, src, time.Hour)
	if ev := nextEvent(t, events, 10*time.Second); ev.snap == nil || ev.snap.Revision != first {
		t.Fatalf("first callback: %+v", ev)
	}
	<-src.fetched

	// An unchanged revision is not reported. Two fetches: fn of the first
	// has run by the time the second one ends.
	p.Trigger()
	<-src.fetched
	p.Trigger()
	<-src.fetched
	select {
	case ev := <-events:
		t.Fatalf("callback without a change: %+v", ev)
	default:
	}

	second := up.Commit("second", map[string]string{"environments.bitesize": "v2"})
	start := time.Now()
	p.Trigger()
	p.Trigger() // coalesced, never blocks
	ev := nextEvent(t, events, 5*time.Second)
	took := time.Since(start)
	if ev.err != nil || ev.snap.Revision != second {
		t.Fatalf("triggered callback: %+v", ev)
	}
	t.Logf("triggered fetch reported after %v", took)
	if took > 2*time.Second {
		t.Errorf("triggered fetch took %v, want well under the hour-long interval (< 2s)", took)
	}
	if p.LastRevision() != second || p.LastError() != nil {
		t.Errorf("LastRevision %s LastError %v", p.LastRevision(), p.LastError())
	}
}

func TestPollerReportsErrorsAndRecovery(t *testing.T) {
	up := testgit.NewRepo(t)
	first := up.Commit("first", map[string]string{"environments.bitesize": "v1"})
	src := &countingSource{newTestGit(t, GitOptions{URL: fileURL(up.Bare), Branch: "main"}), make(chan struct{}, 64)}
	p, events := startPoller(t, src, time.Hour)
	if ev := nextEvent(t, events, 10*time.Second); ev.snap == nil || ev.snap.Revision != first {
		t.Fatalf("first callback: %+v", ev)
	}
	<-src.fetched

	moved := up.Bare + ".moved"
	if err := os.Rename(up.Bare, moved); err != nil {
		t.Fatal(err)
	}
	p.Trigger()
	ev := nextEvent(t, events, 10*time.Second)
	<-src.fetched
	if ev.err == nil || ev.snap != nil {
		t.Fatalf("callback for an unreachable repository: %+v", ev)
	}
	t.Logf("error reported: %v", ev.err)
	if p.LastError() == nil || p.LastRevision() != first {
		t.Errorf("LastError %v LastRevision %s", p.LastError(), p.LastRevision())
	}
	// The same error again is not reported again.
	p.Trigger()
	<-src.fetched
	p.Trigger()
	<-src.fetched
	select {
	case ev := <-events:
		t.Fatalf("repeated error reported again: %+v", ev)
	default:
	}

	if err := os.Rename(moved, up.Bare); err != nil {
		t.Fatal(err)
	}
	p.Trigger()
	ev = nextEvent(t, events, 10*time.Second)
	if ev.err != nil || ev.snap == nil || ev.snap.Revision != first {
		t.Fatalf("recovery callback: %+v", ev)
	}
	if p.LastError() != nil {
		t.Errorf("LastError after recovery: %v", p.LastError())
	}
}

func TestPollerJitter(t *testing.T) {
	p := NewPoller(nil, 10*time.Second, 0, nil)
	for range 1000 {
		d := p.next()
		if d < 8500*time.Millisecond || d > 11500*time.Millisecond {
			t.Fatalf("next() = %v, want 10s ±15%%", d)
		}
	}
}

// hangingServer accepts connections on loopback and never writes to them;
// it reports each connection's end, when the client closes it.
type hangingServer struct {
	addr   string
	mu     sync.Mutex
	open   int
	peak   int
	closed chan struct{}
}

func newHangingServer(t *testing.T) *hangingServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := &hangingServer{addr: ln.Addr().String(), closed: make(chan struct{}, 64)}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			h.mu.Lock()
			h.open++
			h.peak = max(h.peak, h.open)
			h.mu.Unlock()
			wg.Go(func() {
				defer conn.Close()
				// Read what the client sends, answer nothing; EOF or a
				// reset is the client giving up.
				_, _ = io.Copy(io.Discard, conn)
				h.mu.Lock()
				h.open--
				h.mu.Unlock()
				h.closed <- struct{}{}
			})
		}
	})
	return h
}

// TestPollerTimesOutOnServerThatNeverAnswers: a git server that accepts the
// connection and never answers fails the fetch after the Poller's timeout
// with ErrFetchTimeout, the connection is closed, and the next poll tries
// again on a connection of its own: they do not pile up.
func TestPollerTimesOutOnServerThatNeverAnswers(t *testing.T) {
	h := newHangingServer(t)
	g := newTestGit(t, GitOptions{URL: "http://" + h.addr + "/repo.git", Branch: "main", Logger: discardLogger()})
	const timeout = 500 * time.Millisecond
	log, _ := testlog.New()
	p := NewPoller(g, 100*time.Millisecond, timeout, log)
	events := make(chan event, 16)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	start := time.Now()
	go func() {
		defer close(done)
		p.Run(ctx, func(_ context.Context, snap *Snapshot, err error) { events <- event{snap, err} })
	}()
	t.Cleanup(func() { cancel(); <-done })

	ev := nextEvent(t, events, 10*time.Second)
	took := time.Since(start)
	if ev.err == nil || !errors.Is(ev.err, ErrFetchTimeout) || !strings.Contains(ev.err.Error(), "timed out after 500ms") {
		t.Fatalf("callback for a server that never answers: %+v, want ErrFetchTimeout", ev)
	}
	t.Logf("error after %v: %v", took, ev.err)
	if took < timeout || took > timeout+5*time.Second {
		t.Errorf("the fetch failed after %v, want about the timeout %v", took, timeout)
	}
	// Three attempts, each connection closed by the client when it gave up.
	for i := range 3 {
		select {
		case <-h.closed:
		case <-time.After(10 * time.Second):
			t.Fatalf("connection %d not closed by the client within 10s", i+1)
		}
	}
	h.mu.Lock()
	peak := h.peak
	h.mu.Unlock()
	if peak != 1 {
		t.Errorf("%d connections open at once, want 1: each attempt's connection must be closed when it times out", peak)
	}
}
