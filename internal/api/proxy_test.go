package api

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/netip"
	"net/url"
	"strings"
	"testing"
)

// clientFrom returns an HTTP client whose connections come from the
// loopback address ip, as separate machines would.
func clientFrom(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return d.DialContext(ctx, network, addr)
		},
	}}
}

// behindProxy serves e's API behind a real reverse proxy on loopback, which
// appends each client's address to X-Forwarded-For as ingress controllers do.
func behindProxy(t *testing.T, e *testEnv) string {
	t.Helper()
	api := httptest.NewServer(e.h)
	t.Cleanup(api.Close)
	target, err := url.Parse(api.URL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httptest.NewServer(httputil.NewSingleHostReverseProxy(target))
	t.Cleanup(proxy.Close)
	return proxy.URL
}

func call(t *testing.T, c *http.Client, method, url, token, body string, header ...string) int {
	t.Helper()
	r, err := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	resp, err := c.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestTrustedProxyKeepsClientsApart: behind one proxy, a client guessing
// tokens is locked out while a second client (whose tokens were never seen
// before) keeps working; the address recorded is the client's, and a
// forged X-Forwarded-For cannot frame another client. Without
// --trusted-proxies every client is the proxy, and all are locked out.
func TestTrustedProxyKeepsClientsApart(t *testing.T) {
	loopback := netip.MustParsePrefix("127.0.0.1/32")
	for _, trusted := range []bool{true, false} {
		t.Run(fmt.Sprintf("trusted=%v", trusted), func(t *testing.T) {
			opts := []envOption{withRateLimit(5)}
			if trusted {
				opts = append(opts, withTrustedProxies(loopback))
			}
			e := newEnv(t, opts...)
			url := behindProxy(t, e)
			abuser, other := clientFrom("127.0.0.2"), clientFrom("127.0.0.3")

			for i := range 5 {
				// The abuser claims to be the other client: the proxy adds
				// the abuser's own address to the right of the claim.
				call(t, abuser, "GET", url+"/status", fmt.Sprintf("guess-%02d-0123456789abcdef", i), "", "X-Forwarded-For", "127.0.0.3")
			}
			if got := call(t, abuser, "GET", url+"/status", viewToken, ""); got != http.StatusTooManyRequests {
				t.Errorf("the abusive client with a new token: %d, want 429", got)
			}
			got := call(t, other, "POST", url+"/deploy", deployToken, `{"name": "api", "version": "2.0"}`)
			if trusted && got != http.StatusAccepted {
				t.Fatalf("the other client behind the same proxy: %d, want 202", got)
			}
			if !trusted && got != http.StatusTooManyRequests {
				t.Fatalf("without trusted proxies the other client got %d; the lockout is expected to hit every client of the proxy", got)
			}
			if !trusted {
				return
			}
			if c := e.be.callers; len(c) != 1 || c[0].Address != "127.0.0.3" || c[0].Actor != "ci-bot" {
				t.Errorf("deploy recorded as %+v, want ci-bot from 127.0.0.3", c)
			}
			if logs := e.logs.String(); !strings.Contains(logs, `"client":"127.0.0.2"`) || !strings.Contains(logs, `"client":"127.0.0.3"`) {
				t.Errorf("the log does not name the clients behind the proxy:\n%s", logs)
			}
		})
	}
}
