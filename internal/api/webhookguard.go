package api

import (
	"container/list"
	"crypto/sha256"
	"net/http"
	"sync"
	"time"
)

// Defaults of WebhookLimits: a burst of 10 syncs, then one every 6 seconds
// (10 a minute), and 4,096 digests remembered (the last 2,048 deliveries
// at least), 32 bytes each.
const (
	DefaultWebhookBurst    = 10
	DefaultWebhookEvery    = 6 * time.Second
	DefaultWebhookRemember = 4096
)

// deliveryHeaders name a delivery in the git hosts' webhooks. The
// signature does not cover them: they are one way to know a delivery
// again, its body's digest the other.
var deliveryHeaders = []string{"X-GitHub-Delivery", "X-Gitea-Delivery", "X-Gogs-Delivery", "X-Gitlab-Event-UUID"}

// WebhookLimits bound what signed webhook deliveries can cost. A delivery
// seen before (its id or its body) is a duplicate and triggers nothing;
// the others trigger syncs out of a token bucket.
type WebhookLimits struct {
	// Burst syncs may be triggered at once, then one per Every.
	Burst int
	Every time.Duration
	// Remember bounds the digests kept to know deliveries again (one for
	// a delivery's body, one for its id), the least recently seen
	// forgotten first.
	Remember int
	// Now is the clock; nil is time.Now.
	Now func() time.Time
}

// webhookGuard answers replays and floods of signed deliveries.
type webhookGuard struct {
	limits WebhookLimits

	mu     sync.Mutex
	seen   map[[sha256.Size]byte]*list.Element
	recent *list.List // of [sha256.Size]byte, the most recently seen first
	tokens float64
	at     time.Time // when tokens was counted
}

func newWebhookGuard(l WebhookLimits) *webhookGuard {
	if l.Burst <= 0 {
		l.Burst = DefaultWebhookBurst
	}
	if l.Every <= 0 {
		l.Every = DefaultWebhookEvery
	}
	if l.Remember <= 0 {
		l.Remember = DefaultWebhookRemember
	}
	if l.Now == nil {
		l.Now = time.Now
	}
	return &webhookGuard{limits: l, seen: map[[sha256.Size]byte]*list.Element{}, recent: list.New(),
		tokens: float64(l.Burst), at: l.Now()}
}

// deliveryKeys are the digests a delivery is known by: its body's and
// those of the delivery ids it carries.
func deliveryKeys(h http.Header, body []byte) [][sha256.Size]byte {
	d := sha256.New()
	d.Write([]byte("body\x00"))
	d.Write(body)
	keys := [][sha256.Size]byte{[sha256.Size]byte(d.Sum(nil))}
	for _, name := range deliveryHeaders {
		if id := h.Get(name); id != "" {
			keys = append(keys, sha256.Sum256([]byte("id\x00"+name+"\x00"+id)))
		}
	}
	return keys
}

// admit decides a signed delivery: a duplicate of one admitted before, or
// refused until wait has passed, or admitted (and remembered). Only
// admitted deliveries are remembered: a refused one may come again.
func (g *webhookGuard) admit(keys [][sha256.Size]byte) (duplicate bool, wait time.Duration) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, k := range keys {
		if el, ok := g.seen[k]; ok {
			g.recent.MoveToFront(el)
			duplicate = true
		}
	}
	if duplicate {
		return true, 0
	}
	if now := g.limits.Now(); now.After(g.at) {
		g.tokens = min(float64(g.limits.Burst), g.tokens+float64(now.Sub(g.at))/float64(g.limits.Every))
		g.at = now
	}
	if g.tokens < 1 {
		return false, time.Duration((1 - g.tokens) * float64(g.limits.Every))
	}
	g.tokens--
	for _, k := range keys {
		g.seen[k] = g.recent.PushFront(k)
	}
	for g.recent.Len() > g.limits.Remember {
		delete(g.seen, g.recent.Remove(g.recent.Back()).([sha256.Size]byte))
	}
	return false, 0
}
