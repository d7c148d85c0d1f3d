package auth

import (
	"container/list"
	"crypto/sha256"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"slices"
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
// at most max addresses are tracked, the least recently seen evicted first.
// A success does not reset the count, so a caller holding one valid token
// cannot interleave it to keep guessing others.
//
// A blocked address is refused without a look at the token, except for
// tokens that authenticated from it before: clients behind one address (a
// NAT, an ingress without trusted proxies) keep working while one of them
// has a wrong token, and a guess is still never checked.
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
	proven       []tokenPrint // newest last, at most maxProven
}

// tokenPrint identifies a token without keeping it.
type tokenPrint [16]byte

func printOf(token string) tokenPrint {
	sum := sha256.Sum256([]byte(token))
	return tokenPrint(sum[:16])
}

// maxProven bounds the tokens remembered per address.
const maxProven = 8

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

// blocked reports whether key is blocked at now for a token printed tp,
// and for how much longer: tokens proven from key are not.
func (l *limiter) blocked(key string, tp tokenPrint, now time.Time) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.clients[key]
	if !ok {
		return 0, false
	}
	c := e.Value.(*clientState)
	if now.Before(c.blockedUntil) && !slices.Contains(c.proven, tp) {
		return c.blockedUntil.Sub(now), true
	}
	return 0, false
}

// succeed remembers that the token printed tp authenticated from key.
func (l *limiter) succeed(key string, tp tokenPrint) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.track(key)
	if i := slices.Index(c.proven, tp); i >= 0 {
		c.proven = slices.Delete(c.proven, i, i+1)
	} else if len(c.proven) >= maxProven {
		c.proven = slices.Delete(c.proven, 0, 1)
	}
	c.proven = append(c.proven, tp)
}

// track returns the state of key, tracking it as the most recently seen
// address (evicting the least recently seen at the bound). l.mu is held.
func (l *limiter) track(key string) *clientState {
	if e, ok := l.clients[key]; ok {
		l.lru.MoveToBack(e)
		return e.Value.(*clientState)
	}
	for l.lru.Len() >= l.max {
		old := l.lru.Front()
		delete(l.clients, old.Value.(*clientState).key)
		l.lru.Remove(old)
	}
	c := &clientState{key: key}
	l.clients[key] = l.lru.PushBack(c)
	return c
}

// fail records a failure of key at now and reports whether it just caused
// the key to be blocked.
func (l *limiter) fail(key string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.track(key)
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

// clientKey is the address failures are counted against: ClientAddr, with
// IPv6 addresses reduced to their /64, since one host usually holds a whole
// /64.
func clientKey(r *http.Request, trusted []netip.Prefix) string {
	host := ClientAddr(r, trusted)
	addr, err := netip.ParseAddr(host)
	if err != nil || !addr.Is6() {
		return host
	}
	p, _ := addr.Prefix(64)
	return p.String()
}

// ClientAddr is the address of r's client: the connection's peer, or, when
// the peer is one of the trusted proxies, the rightmost address of
// X-Forwarded-For that is not one (the addresses left of it were written by
// the client itself and prove nothing).
func ClientAddr(r *http.Request, trusted []netip.Prefix) string {
	host := r.RemoteAddr
	if h, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		host = h
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	return forwardedFor(addr.Unmap(), r.Header.Values("X-Forwarded-For"), trusted).String()
}

// ParseProxies reads --trusted-proxies: comma-separated CIDRs or single
// addresses.
func ParseProxies(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, item := range SplitList(s) {
		p, err := netip.ParsePrefix(item)
		if err != nil {
			a, aerr := netip.ParseAddr(item)
			if aerr != nil {
				return nil, fmt.Errorf("trusted proxy %q: want a CIDR such as 10.0.0.0/8 or an address", item)
			}
			p = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		}
		out = append(out, p.Masked())
	}
	return out, nil
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
