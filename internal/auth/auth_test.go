package auth

import (
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/envop/envop/internal/testlog"
)

func TestBearerToken(t *testing.T) {
	tests := []struct {
		name    string
		headers []string
		want    string
		wantErr string // substring; "" means success
	}{
		{"bearer", []string{"Bearer abc"}, "abc", ""},
		{"scheme case-insensitive", []string{"bEaReR abc"}, "abc", ""},
		{"tab and padding", []string{"Bearer\t  abc  "}, "abc", ""},
		{"no header", nil, "", "missing bearer token"},
		{"empty header", []string{"   "}, "", "missing bearer token"},
		{"basic", []string{"Basic dXNlcjpwYXNz"}, "", "unsupported authorization scheme"},
		{"token scheme", []string{"Token abc"}, "", "unsupported authorization scheme"},
		{"bearer without token", []string{"Bearer"}, "", "empty bearer token"},
		{"bearer with blanks", []string{"Bearer    "}, "", "empty bearer token"},
		{"two headers", []string{"Bearer a", "Bearer b"}, "", "more than one"},
		{"too long", []string{"Bearer " + strings.Repeat("x", maxTokenLen+1)}, "", "too long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			for _, v := range tt.headers {
				h.Add("Authorization", v)
			}
			got, err := bearerToken(h)
			if tt.wantErr == "" {
				if err != nil || got != tt.want {
					t.Fatalf("got %q, %v; want %q", got, err, tt.want)
				}
				return
			}
			if !errors.Is(err, ErrUnauthenticated) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want ErrUnauthenticated containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestRateLimitPerAddress(t *testing.T) {
	clock := newFakeClock()
	a, _, _ := newTokenAuth(t, tokA+" ci\n", clock)
	attacker, other := "198.51.100.7:40000", "198.51.100.8:40000"

	for i := 1; i <= 10; i++ {
		_, err := a.Authenticate(request(attacker, fmt.Sprintf("Bearer guess-%d", i)))
		if !errors.Is(err, ErrUnauthenticated) {
			t.Fatalf("failure %d: err = %v, want ErrUnauthenticated", i, err)
		}
		clock.Advance(time.Second)
	}
	// The 11th attempt is refused without looking at the token, even a valid one.
	for _, tok := range []string{"guess-11", tokA} {
		_, err := a.Authenticate(request(attacker, "Bearer "+tok))
		var rl *RateLimitError
		if !errors.Is(err, ErrRateLimited) || !errors.As(err, &rl) || rl.RetryAfter <= 0 || rl.RetryAfter > time.Minute {
			t.Fatalf("after 10 failures: err = %v, want ErrRateLimited with a Retry-After within a minute", err)
		}
	}
	// Another address is unaffected, and so is a different port of nothing.
	if p, err := a.Authenticate(request(other, "Bearer "+tokA)); err != nil || p.Name != "ci" {
		t.Fatalf("other address: %+v, %v", p, err)
	}
	// Requests without any credential are not failures.
	for range 20 {
		if _, err := a.Authenticate(request(other, "")); !errors.Is(err, ErrUnauthenticated) || errors.Is(err, ErrRateLimited) {
			t.Fatalf("no token: err = %v, want ErrUnauthenticated", err)
		}
	}
	// The block ends after a minute.
	clock.Advance(time.Minute)
	if _, err := a.Authenticate(request(attacker, "Bearer "+tokA)); err != nil {
		t.Fatalf("after the block: %v", err)
	}
}

// TestRateLimitKeepsProvenTokens: while an address is blocked, the tokens
// that authenticated from it before keep working; others, valid or not, wait.
func TestRateLimitKeepsProvenTokens(t *testing.T) {
	clock := newFakeClock()
	a, _, _ := newTokenAuth(t, tokA+" ci\n"+tokB+" other\n", clock)
	shared := "198.51.100.9:40000" // a NAT: a working pipeline and a broken one
	if p, err := a.Authenticate(request(shared, "Bearer "+tokA)); err != nil || p.Name != "ci" {
		t.Fatalf("first call: %+v, %v", p, err)
	}
	for i := 1; i <= 10; i++ {
		if _, err := a.Authenticate(request(shared, fmt.Sprintf("Bearer stale-%d", i))); !errors.Is(err, ErrUnauthenticated) {
			t.Fatalf("failure %d: %v", i, err)
		}
	}
	if p, err := a.Authenticate(request(shared, "Bearer "+tokA)); err != nil || p.Name != "ci" {
		t.Errorf("proven token while blocked: %+v, %v; want it accepted", p, err)
	}
	for _, tok := range []string{"stale-11", tokB} {
		if _, err := a.Authenticate(request(shared, "Bearer "+tok)); !errors.Is(err, ErrRateLimited) {
			t.Errorf("token %q new to a blocked address: %v, want ErrRateLimited", tok, err)
		}
	}
	// Proof is per address.
	if _, err := a.Authenticate(request("198.51.100.10:1", "Bearer "+tokB)); err != nil {
		t.Errorf("other address: %v", err)
	}
}

func TestRateLimitWindow(t *testing.T) {
	l := newLimiter(RateLimit{})
	now := time.Now()
	// Nine failures a minute forever never block.
	for i := range 50 {
		if l.fail("a", now.Add(time.Duration(i)*(time.Minute/9+time.Millisecond))) {
			t.Fatalf("blocked at failure %d although under 10 per minute", i+1)
		}
	}
}

func TestRateLimitBoundedMemory(t *testing.T) {
	l := newLimiter(RateLimit{MaxClients: 100, Failures: 2})
	now := time.Now()
	l.fail("first", now)
	l.fail("first", now) // blocked
	for i := range 1000 {
		l.fail(fmt.Sprintf("10.0.%d.%d", i/256, i%256), now)
	}
	if n := l.len(); n != 100 {
		t.Fatalf("tracking %d addresses, want the cap 100", n)
	}
	if _, blocked := l.blocked("first", tokenPrint{}, now); blocked {
		t.Error("the oldest address was not evicted")
	}
}

func TestClientKey(t *testing.T) {
	proxy := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	tests := []struct {
		name, remote, xff string
		trusted           []netip.Prefix
		want              string
	}{
		{"ipv4", "192.0.2.1:5555", "", nil, "192.0.2.1"},
		{"xff ignored by default", "192.0.2.1:5555", "203.0.113.9", nil, "192.0.2.1"},
		{"xff from untrusted peer", "192.0.2.1:5555", "203.0.113.9", proxy, "192.0.2.1"},
		{"xff from trusted proxy", "10.1.2.3:5555", "203.0.113.9", proxy, "203.0.113.9"},
		{"spoofed left of proxy chain", "10.1.2.3:5555", "1.1.1.1, 203.0.113.9, 10.9.9.9", proxy, "203.0.113.9"},
		{"ipv6 grouped by /64", "[2001:db8:1:2:aaaa::1]:443", "", nil, "2001:db8:1:2::/64"},
		{"ipv4-mapped", "[::ffff:192.0.2.1]:443", "", nil, "192.0.2.1"},
		{"unparsable", "pipe", "", nil, "pipe"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := request(tt.remote, "")
			if tt.xff != "" {
				r.Header.Set("X-Forwarded-For", tt.xff)
			}
			if got := clientKey(r, tt.trusted); got != tt.want {
				t.Errorf("clientKey = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestTokenNeverInErrorsOrLogs(t *testing.T) {
	clock := newFakeClock()
	log, logs := testlog.New()
	path := writeFile(t, t.TempDir(), "tokens", tokA+" ci admin\n")
	a, err := New(t.Context(), Options{
		TokenFile: path, Log: log, Now: clock.Now,
		OIDCIssuerURL: "https://127.0.0.1:1/unreachable", OIDCClientID: "envop",
	})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	presented := []string{
		"wrong-" + tokA,
		"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzZWNyZXQtc3ViamVjdCJ9.c2lnbmF0dXJlLXNlY3JldA", // JWT-shaped
		"Basic " + tokA,
	}
	var errs []string
	for _, tok := range presented {
		h := "Bearer " + tok
		if strings.HasPrefix(tok, "Basic ") {
			h = tok
		}
		_, err := a.Authenticate(request("192.0.2.1:1", h))
		if err == nil {
			t.Fatalf("token %q accepted", tok)
		}
		errs = append(errs, err.Error())
	}
	if _, err := a.Authenticate(request("192.0.2.1:1", "Bearer "+tokA)); err != nil {
		t.Fatal(err)
	}
	all := strings.Join(errs, "\n") + "\n" + logs.String()
	for _, secret := range []string{tokA, "c2lnbmF0dXJlLXNlY3JldA", "eyJzdWIiOiJzZWNyZXQtc3ViamVjdCJ9"} {
		if strings.Contains(all, secret) {
			t.Errorf("secret %q appears in errors or logs:\n%s", secret, all)
		}
	}
	if !strings.Contains(logs.String(), "authentication failed") {
		t.Errorf("failures not logged:\n%s", logs.String())
	}
}

func TestNoOIDCConfiguredJWTIsUnknownToken(t *testing.T) {
	a, _, _ := newTokenAuth(t, tokA+"\n", newFakeClock())
	jwt := "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"
	if _, err := a.Authenticate(request("192.0.2.1:1", "Bearer "+jwt)); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("err = %v, want ErrUnauthenticated", err)
	}
}

func TestNewValidatesOIDCOptions(t *testing.T) {
	for _, o := range []Options{
		{OIDCIssuerURL: "https://idp.example.com"},                   // no client id
		{OIDCClientID: "envop"},                                      // no issuer
		{OIDCIssuerURL: "http://idp.example.com", OIDCClientID: "x"}, // plain http off loopback
		{OIDCIssuerURL: "idp.example.com", OIDCClientID: "x"},
	} {
		if a, err := New(t.Context(), o); err == nil {
			a.Close()
			t.Errorf("New(%+v) succeeded", o)
		}
	}
}

func TestLooksLikeJWT(t *testing.T) {
	for s, want := range map[string]bool{
		"eyJh.eyJz.sig":   true,
		"a.b.c":           true,
		"a.b":             false,
		"a..c":            false,
		"a.b.c.d":         false,
		"a.b+c.d":         false,
		"plain-token-123": false,
	} {
		if got := looksLikeJWT(s); got != want {
			t.Errorf("looksLikeJWT(%q) = %v", s, got)
		}
	}
}

func TestSplitList(t *testing.T) {
	got := SplitList(" devs, ops ,,release ,")
	if strings.Join(got, "|") != "devs|ops|release" {
		t.Errorf("SplitList = %q", got)
	}
	if SplitList("  ") != nil {
		t.Error("SplitList of blanks is not empty")
	}
}

// TestConcurrentAuthenticate exercises lookups, reloads and the limiter from
// many goroutines; run with -race.
func TestConcurrentAuthenticate(t *testing.T) {
	clock := newFakeClock()
	a, path, _ := newTokenAuth(t, tokA+" a\n"+tokB+" b\n", clock)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				tok := tokA
				if i%3 == 0 {
					tok = "bad-" + tokA
				}
				_, err := a.Authenticate(request(fmt.Sprintf("192.0.2.%d:1", g*8+i%8), "Bearer "+tok))
				if tok == tokA && err != nil && !errors.Is(err, ErrRateLimited) {
					t.Errorf("valid token refused: %v", err)
					return
				}
				if g == 0 && i%20 == 0 {
					// Replaced whole, as a mounted Secret is: a reload never
					// reads a file half written (which fails closed).
					content := tokA + " a\n" + tokB + " b\n# " + fmt.Sprint(i) + "\n"
					if err := os.WriteFile(path+".new", []byte(content), 0o600); err != nil {
						t.Error(err)
						return
					}
					if err := os.Rename(path+".new", path); err != nil {
						t.Error(err)
						return
					}
					clock.Advance(3 * time.Second)
				}
			}
		})
	}
	wg.Wait()
	a.Close()
	a.Close()
}
