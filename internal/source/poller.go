package source

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"
)

// jitter is the fraction by which each poll interval varies either way, so
// many operators polling one git host do not do so in step.
const jitter = 0.15

// DefaultFetchTimeout bounds one fetch when no timeout is given, so a git
// server that accepts connections but never answers cannot stop polling
// (and triggers) for long: a depth-1 fetch of one branch of a manifest
// repository takes seconds.
const DefaultFetchTimeout = time.Minute

// ErrFetchTimeout is the error of a fetch that did not finish within the
// Poller's timeout.
var ErrFetchTimeout = errors.New("timed out")

// Poller fetches a Source periodically and on demand and reports changes.
type Poller struct {
	src      Source
	interval time.Duration
	log      *slog.Logger
	trigger  chan struct{}
	// timeout bounds one fetch.
	timeout time.Duration

	mu        sync.Mutex
	lastRev   string
	lastGists string // the gists repository's revision, when there is one
	lastErr   error
}

// DefaultInterval is the poll interval used when none is given.
const DefaultInterval = 30 * time.Second

// NewPoller returns a Poller that fetches src about every interval
// (DefaultInterval when interval is not positive), each fetch cut off after
// timeout (DefaultFetchTimeout when timeout is not positive).
func NewPoller(src Source, interval, timeout time.Duration, log *slog.Logger) *Poller {
	if log == nil {
		log = slog.Default()
	}
	if interval <= 0 {
		interval = DefaultInterval
	}
	if timeout <= 0 {
		timeout = DefaultFetchTimeout
	}
	return &Poller{
		src:      src,
		interval: interval,
		log:      log,
		trigger:  make(chan struct{}, 1),
		timeout:  timeout,
	}
}

// Trigger asks for a fetch now. It never blocks; triggers that arrive while
// one is pending are merged into it, and one that arrives during a fetch
// causes one more fetch after it.
func (p *Poller) Trigger() {
	select {
	case p.trigger <- struct{}{}:
	default:
	}
}

// LastRevision returns the revision of the last successful fetch.
func (p *Poller) LastRevision() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lastRev
}

// LastError returns the error of the last fetch, nil when it succeeded.
func (p *Poller) LastError() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lastErr
}

// Run fetches at once, then on every tick and trigger, until ctx ends. It
// calls fn (from this goroutine) when the revision or the gists revision
// changes, when a fetch
// fails with a new error (snap is nil then) and when fetching recovers. fn
// runs before the next fetch starts.
func (p *Poller) Run(ctx context.Context, fn func(ctx context.Context, snap *Snapshot, err error)) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-p.trigger:
			timer.Stop()
		}
		p.poll(ctx, fn)
		timer.Reset(p.next())
	}
}

// next returns the interval with jitter applied.
func (p *Poller) next() time.Duration {
	f := 1 + jitter*(2*rand.Float64()-1)
	return time.Duration(float64(p.interval) * f)
}

func (p *Poller) poll(ctx context.Context, fn func(context.Context, *Snapshot, error)) {
	fctx, cancel := context.WithTimeout(ctx, p.timeout)
	snap, err := p.src.Fetch(fctx)
	timedOut := errors.Is(fctx.Err(), context.DeadlineExceeded)
	cancel()
	if ctx.Err() != nil {
		return // shutting down: not a source error
	}
	if err != nil && timedOut {
		err = fmt.Errorf("%w after %s: %w", ErrFetchTimeout, p.timeout, err)
	}
	if p.record(snap, err) {
		fn(ctx, snap, err)
	}
}

// record stores the outcome of a fetch and reports whether it is news.
func (p *Poller) record(snap *Snapshot, err error) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	prevErr := p.lastErr
	p.lastErr = err
	if err != nil {
		changed := prevErr == nil || prevErr.Error() != err.Error()
		if changed {
			p.log.Error("source fetch failed", "source", p.src.String(), "error", err)
		} else {
			p.log.Debug("source fetch still failing", "source", p.src.String(), "error", err)
		}
		return changed
	}
	gists := snap.GistsRevision()
	changed := prevErr != nil || snap.Revision != p.lastRev || gists != p.lastGists
	if prevErr != nil {
		p.log.Info("source fetch recovered", "source", p.src.String(), "revision", snap.Revision)
	}
	if snap.Revision != p.lastRev {
		p.log.Info("source revision changed", "source", p.src.String(), "revision", snap.Revision, "previous", p.lastRev, "author", snap.Author)
	}
	if gists != p.lastGists {
		p.log.Info("gists revision changed", "source", snap.GistsRepository, "revision", gists, "previous", p.lastGists)
	}
	p.lastRev, p.lastGists = snap.Revision, gists
	return changed
}
