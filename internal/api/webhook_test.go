package api

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func sign(secret, body string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(body))
	return hex.EncodeToString(mac.Sum(nil))
}

func TestWebhook(t *testing.T) {
	const payload = `{"ref": "refs/heads/main", "after": "c0ffee"}`
	good := sign(hookSecret, payload)
	for _, tc := range []struct {
		name    string
		secret  string // configured
		headers map[string]string
		code    int
		sender  string
	}{
		{"github", hookSecret, map[string]string{"X-Hub-Signature-256": "sha256=" + good}, 202, "webhook:github"},
		{"gitea", hookSecret, map[string]string{"X-Gitea-Signature": good}, 202, "webhook:gitea"},
		{"gogs", hookSecret, map[string]string{"X-Gogs-Signature": good}, 202, "webhook:gitea"},
		{"gitlab", hookSecret, map[string]string{"X-Gitlab-Token": hookSecret}, 202, "webhook:gitlab"},
		{"github wrong signature", hookSecret, map[string]string{"X-Hub-Signature-256": "sha256=" + sign("other", payload)}, 401, ""},
		{"github without prefix", hookSecret, map[string]string{"X-Hub-Signature-256": good}, 401, ""},
		{"github sha1", hookSecret, map[string]string{"X-Hub-Signature-256": "sha1=" + good}, 401, ""},
		{"github not hex", hookSecret, map[string]string{"X-Hub-Signature-256": "sha256=zz"}, 401, ""},
		{"github signature of another body", hookSecret, map[string]string{"X-Hub-Signature-256": "sha256=" + sign(hookSecret, payload+" ")}, 401, ""},
		{"gitea wrong signature", hookSecret, map[string]string{"X-Gitea-Signature": sign("other", payload)}, 401, ""},
		{"gitlab wrong token", hookSecret, map[string]string{"X-Gitlab-Token": hookSecret + "x"}, 401, ""},
		{"gitlab prefix of the token", hookSecret, map[string]string{"X-Gitlab-Token": hookSecret[:8]}, 401, ""},
		{"unsigned", hookSecret, nil, 401, ""},
		{"bearer token is not a signature", hookSecret, map[string]string{"Authorization": "Bearer " + adminToken}, 401, ""},
		{"no secret configured", "", map[string]string{"X-Hub-Signature-256": "sha256=" + sign("", payload)}, 401, ""},
		{"no secret configured, empty gitlab token", "", map[string]string{"X-Gitlab-Token": ""}, 401, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, withWebhookSecret(tc.secret))
			r := req("POST", "/webhook", "", payload)
			for k, v := range tc.headers {
				r.Header.Set(k, v)
			}
			rec := e.serve(r)
			if tc.code != http.StatusAccepted {
				wantError(t, rec, tc.code)
				if len(e.be.webhooks) != 0 {
					t.Fatalf("a refused webhook triggered a sync: %v", e.be.webhooks)
				}
				return
			}
			if body := decodeBody(t, rec, tc.code); body["status"] == "" {
				t.Errorf("body %v", body)
			}
			if !slices.Equal(e.be.webhooks, []string{tc.sender}) {
				t.Fatalf("Backend.Webhook calls %v, want one from %s", e.be.webhooks, tc.sender)
			}
		})
	}
}

func TestWebhookTooLarge(t *testing.T) {
	e := newEnv(t, withWebhookSecret(hookSecret))
	payload := `{"pad": "` + strings.Repeat("a", 1<<20) + `"}`
	r := req("POST", "/webhook", "", payload)
	r.Header.Set("X-Hub-Signature-256", "sha256="+sign(hookSecret, payload))
	wantError(t, e.serve(r), http.StatusRequestEntityTooLarge)
	if len(e.be.webhooks) != 0 {
		t.Fatal("an oversized webhook triggered a sync")
	}
}

// clock is a settable time for the webhook rate limit.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// delivery is a webhook call signed the way its sender signs, with the
// delivery id header of that sender when id is set.
func delivery(sender, body, id string) *http.Request {
	r := req("POST", "/webhook", "", body)
	switch sender {
	case "github":
		r.Header.Set("X-Hub-Signature-256", "sha256="+sign(hookSecret, body))
		r.Header.Set("X-GitHub-Delivery", id)
	case "gitea":
		r.Header.Set("X-Gitea-Signature", sign(hookSecret, body))
		r.Header.Set("X-Gitea-Delivery", id)
	case "gogs":
		r.Header.Set("X-Gogs-Signature", sign(hookSecret, body))
		r.Header.Set("X-Gogs-Delivery", id)
	case "gitlab":
		r.Header.Set("X-Gitlab-Token", hookSecret)
		r.Header.Set("X-Gitlab-Event-UUID", id)
	}
	if id == "" {
		for _, h := range deliveryHeaders {
			r.Header.Del(h)
		}
	}
	return r
}

func TestWebhookDuplicatesIgnored(t *testing.T) {
	for _, sender := range []string{"github", "gitea", "gogs", "gitlab"} {
		t.Run(sender, func(t *testing.T) {
			e := newEnv(t, withWebhookSecret(hookSecret))
			first := delivery(sender, `{"after": "c0ffee"}`, "id-1")
			if rec := e.serve(first); rec.Code != http.StatusAccepted {
				t.Fatalf("first delivery: %d %s", rec.Code, rec.Body)
			}
			for _, tc := range []struct{ name, body, id string }{
				{"the same delivery again", `{"after": "c0ffee"}`, "id-1"},
				{"its body under another id (the id is not signed)", `{"after": "c0ffee"}`, "id-2"},
				{"its body without an id", `{"after": "c0ffee"}`, ""},
				{"another body under its id", `{"after": "decaf"}`, "id-1"},
			} {
				body := decodeBody(t, e.serve(delivery(sender, tc.body, tc.id)), http.StatusOK)
				if body["status"] != "duplicate" || body["message"] == "" {
					t.Errorf("%s: answer %v, want status duplicate with a message", tc.name, body)
				}
			}
			if rec := e.serve(delivery(sender, `{"after": "beef"}`, "id-3")); rec.Code != http.StatusAccepted {
				t.Errorf("a new delivery after duplicates: %d %s", rec.Code, rec.Body)
			}
			if len(e.be.webhooks) != 2 {
				t.Errorf("%d syncs triggered, want 2 (the duplicates trigger none)", len(e.be.webhooks))
			}
		})
	}
}

func TestWebhookRateLimited(t *testing.T) {
	clk := &clock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	e := newEnv(t, withWebhookSecret(hookSecret), withWebhookLimits(WebhookLimits{Burst: 3, Every: 10 * time.Second, Now: clk.Now}))
	n := 0
	next := func() *httptest.ResponseRecorder {
		n++
		return e.serve(delivery("github", fmt.Sprintf(`{"after": "%d"}`, n), fmt.Sprint("id-", n)))
	}
	for range 3 {
		if rec := next(); rec.Code != http.StatusAccepted {
			t.Fatalf("delivery %d within the burst: %d %s", n, rec.Code, rec.Body)
		}
	}
	clk.advance(4 * time.Second)
	rec := next()
	wantError(t, rec, http.StatusTooManyRequests)
	if got := rec.Header().Get("Retry-After"); got != "6" {
		t.Errorf("Retry-After %q, want 6 (the next token in 10s - 4s)", got)
	}
	// A refused delivery is not remembered: it may come again and be
	// admitted. A duplicate of an admitted one costs no token.
	refused := n
	if body := decodeBody(t, e.serve(delivery("github", `{"after": "1"}`, "id-1")), http.StatusOK); body["status"] != "duplicate" {
		t.Errorf("a duplicate beyond the limit: %v, want status duplicate", body)
	}
	clk.advance(6 * time.Second)
	if rec := e.serve(delivery("github", fmt.Sprintf(`{"after": "%d"}`, refused), "")); rec.Code != http.StatusAccepted {
		t.Errorf("the refused delivery sent again once a token is back: %d %s", rec.Code, rec.Body)
	}
	wantError(t, next(), http.StatusTooManyRequests)
	// Unsigned calls take no token.
	clk.advance(10 * time.Second)
	for range 5 {
		wantError(t, e.serve(req("POST", "/webhook", "", `{}`)), http.StatusUnauthorized)
	}
	if rec := next(); rec.Code != http.StatusAccepted {
		t.Errorf("after 10s and unsigned calls: %d %s", rec.Code, rec.Body)
	}
	if len(e.be.webhooks) != 5 {
		t.Errorf("%d syncs triggered, want 5: 3 in the burst, 2 refilled", len(e.be.webhooks))
	}
}

func TestWebhookGuardForgetsTheOldest(t *testing.T) {
	clk := &clock{now: time.Now()}
	g := newWebhookGuard(WebhookLimits{Burst: 100, Every: time.Second, Remember: 6, Now: clk.Now})
	keys := func(i int) [][sha256.Size]byte {
		h := http.Header{}
		h.Set("X-GitHub-Delivery", fmt.Sprint("id-", i))
		return deliveryKeys(h, []byte(fmt.Sprint(i)))
	}
	for i := range 5 {
		if dup, wait := g.admit(keys(i)); dup || wait > 0 {
			t.Fatalf("delivery %d: duplicate %v, wait %s", i, dup, wait)
		}
	}
	if g.recent.Len() != 6 || len(g.seen) != 6 {
		t.Errorf("%d digests in the list, %d in the map, want 6 (3 deliveries, 2 digests each)", g.recent.Len(), len(g.seen))
	}
	// Seen again, 2 is the most recent: the next two deliveries push out 3
	// and 4, the least recently seen.
	if dup, _ := g.admit(keys(2)); !dup {
		t.Fatal("delivery 2 again: not a duplicate")
	}
	for i := 5; i < 7; i++ {
		if dup, wait := g.admit(keys(i)); dup || wait > 0 {
			t.Fatalf("delivery %d: duplicate %v, wait %s", i, dup, wait)
		}
	}
	for _, i := range []int{6, 5, 2} {
		if dup, _ := g.admit(keys(i)); !dup {
			t.Errorf("delivery %d again: not a duplicate", i)
		}
	}
	if dup, _ := g.admit(keys(3)); dup {
		t.Error("delivery 3 is still remembered, want it forgotten first")
	}
}
