package auth

import (
	"container/list"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"
)

const (
	defaultRateFailures   = 10
	defaultRateWindow     = time.Minute
	defaultRateBlock      = time.Minute
	defaultRateMaxClients = 10000
)

// limiter counts failed authentications per client address in a fixed
// window; at the limit the address is blocked for a while. Memory is bounded:
// at most max addresses are tracked, the least recently failing evicted first.
// A success does not reset the count, so a caller holding one valid token
// cannot interleave it to keep guessing others.
type limiter struct {
	failures int
	window   time.Duration
	block    time.Duration
	max      int

	mu      sync.Mutex
	clients map[string]*list.Element // of *clientState
	lru     list.List                // front: least recently failed
}

type clientState struct {
	key          string
	windowStart  time.Time
	count        int
	blockedUntil time.Time
}

func newLimiter(rl RateLimit) *limiter {
	l := &limiter{
		failures: rl.Failures, window: rl.Window, block: rl.Block, max: rl.MaxClients,
		clients: map[string]*list.Element{},
	}
	if l.failures <= 0 {
		l.failures = defaultRateFailures
	}
	if l.window <= 0 {
		l.window = defaultRateWindow
	}
	if l.block <= 0 {
		l.block = defaultRateBlock
	}
	if l.max <= 0 {
		l.max = defaultRateMaxClients
	}
	return l
}

// blocked reports whether key is blocked at now, and for how much longer.
func (l *limiter) blocked(key string, now time.Time) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.clients[key]
	if !ok {
		return 0, false
	}
	c := e.Value.(*clientState)
	if now.Before(c.blockedUntil) {
		return c.blockedUntil.Sub(now), true
	}
	return 0, false
}

// fail records a failure of key at now and reports whether it just caused
// the key to be blocked.
func (l *limiter) fail(key string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	var c *clientState
	if e, ok := l.clients[key]; ok {
		c = e.Value.(*clientState)
		l.lru.MoveToBack(e)
	} else {
		for l.lru.Len() >= l.max {
			old := l.lru.Front()
			delete(l.clients, old.Value.(*clientState).key)
			l.lru.Remove(old)
		}
		c = &clientState{key: key}
		l.clients[key] = l.lru.PushBack(c)
	}
	if now.Sub(c.windowStart) >= l.window || now.Before(c.windowStart) {
		c.windowStart, c.count = now, 0
	}
	c.count++
	if c.count >= l.failures && !now.Before(c.blockedUntil) {
		c.blockedUntil = now.Add(l.block)
		c.windowStart, c.count = now.Add(l.block), 0
		return true
	}
	return false
}

// len returns the number of tracked addresses.
func (l *limiter) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lru.Len()
}

// clientKey is the address failures are counted against: the connection's
// host (X-Forwarded-For only when the connection comes from a trusted
// proxy), with IPv6 addresses reduced to their /64, since one host
// usually holds a whole /64.
func clientKey(r *http.Request, trusted []netip.Prefix) string {
	host := r.RemoteAddr
	if h, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		host = h
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	addr = forwardedFor(addr.Unmap(), r.Header.Values("X-Forwarded-For"), trusted)
	if addr.Is6() {
		p, _ := addr.Prefix(64)
		return p.String()
	}
	return addr.String()
}

// forwardedFor walks X-Forwarded-For from the right while the hop is a
// trusted proxy and returns the first address that is not one.
func forwardedFor(peer netip.Addr, headers []string, trusted []netip.Prefix) netip.Addr {
	if len(trusted) == 0 {
		return peer
	}
	var hops []string
	for _, h := range headers {
		hops = append(hops, strings.Split(h, ",")...)
	}
	addr := peer
	for i := len(hops) - 1; i >= 0 && isTrusted(addr, trusted); i-- {
		next, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		addr = next.Unmap()
	}
	return addr
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
