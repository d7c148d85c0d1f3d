package client

import (
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const secret = "s3cr3t-token"

func newServer(t *testing.T, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func mustNew(t *testing.T, endpoint string, opts ...Option) *Client {
	t.Helper()
	c, err := New(endpoint, secret, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestDeploySendsRequest(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/deploy" {
			t.Errorf("got %s %s", r.Method, r.URL.Path)
		}
		if got := r.Header.Get("Authorization"); got != "Bearer "+secret {
			t.Errorf("Authorization = %q", got)
		}
		if ua := r.Header.Get("User-Agent"); !strings.HasPrefix(ua, "envop/") {
			t.Errorf("User-Agent = %q", ua)
		}
		if ct := r.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type = %q", ct)
		}
		var body map[string]any
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			t.Error(err)
		}
		if body["name"] != "web" || body["version"] != "1.2.3" {
			t.Errorf("body = %v", body)
		}
		if _, ok := body["application"]; ok {
			t.Errorf("empty application sent: %v", body)
		}
		w.WriteHeader(http.StatusAccepted)
		_, _ = w.Write([]byte(`{"id":"d1","status":"deploying","service":"web","version":"1.2.3"}`))
	})
	d, err := mustNew(t, srv.URL+"/").Deploy(t.Context(), DeployRequest{Name: "web", Version: "1.2.3"})
	if err != nil {
		t.Fatal(err)
	}
	if d.ID != "d1" || d.Status != StatusDeploying || d.Done() {
		t.Errorf("deploy = %+v", d)
	}
}

func TestEndpointPathPrefixAndEscaping(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.EscapedPath() != "/envop/deploys/a%2Fb" || r.URL.Query().Get("wait") != "20s" {
			t.Errorf("got %s?%s", r.URL.EscapedPath(), r.URL.RawQuery)
		}
		_, _ = w.Write([]byte(`{"id":"a/b","status":"succeeded"}`))
	})
	d, err := mustNew(t, srv.URL+"/envop").GetDeploy(t.Context(), "a/b", 20*time.Second)
	if err != nil || !d.Done() {
		t.Fatalf("deploy = %+v, %v", d, err)
	}
}

func TestAPIErrors(t *testing.T) {
	for _, tc := range []struct {
		code   int
		body   string
		want   string
		server bool
	}{
		{401, `{"error":"missing or invalid token","code":401}`, "missing or invalid token", false},
		{403, `{"error":"ci may not do this","code":403}`, "ci may not do this", false},
		{404, `{"error":"unknown service \"nope\"","code":404}`, `unknown service "nope"`, false},
		{409, `{"error":"green is not healthy","code":409}`, "green is not healthy", false},
		{500, `{"error":"internal error","code":500}`, "internal error", true},
		{502, "<html>bad gateway</html>\nmore", "<html>bad gateway</html>", true},
	} {
		srv := newServer(t, func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(tc.code)
			_, _ = w.Write([]byte(tc.body))
		})
		_, err := mustNew(t, srv.URL).Status(t.Context())
		var apiErr *APIError
		if !errors.As(err, &apiErr) {
			t.Fatalf("%d: error %v (%T), want *APIError", tc.code, err, err)
		}
		if apiErr.Status != tc.code || apiErr.Message != tc.want || apiErr.ServerError() != tc.server {
			t.Errorf("%d: got %+v", tc.code, apiErr)
		}
		if StatusCode(err) != tc.code || IsUnreachable(err) {
			t.Errorf("%d: StatusCode/IsUnreachable wrong for %v", tc.code, err)
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("token in error: %v", err)
		}
	}
}

func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

func TestUnreachable(t *testing.T) {
	hang := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	})
	tlsSrv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0)
	tlsSrv.StartTLS()
	t.Cleanup(tlsSrv.Close)
	for name, c := range map[string]*Client{
		"closed port":      mustNew(t, closedPort(t)),
		"unknown host":     mustNew(t, "http://envop.invalid"),
		"timeout":          mustNew(t, hang.URL, WithTimeout(100*time.Millisecond)),
		"unknown TLS root": mustNew(t, tlsSrv.URL),
		"token in URL":     mustNew(t, "http://user:"+secret+"@"+strings.TrimPrefix(closedPort(t), "http://")),
	} {
		_, err := c.Status(t.Context())
		if !IsUnreachable(err) {
			t.Errorf("%s: error %v (%T), want unreachable", name, err, err)
			continue
		}
		if StatusCode(err) != 0 || strings.Contains(err.Error(), secret) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestCanceledIsNotUnreachable(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	ctx, cancel := contextWithCancelSoon(t)
	defer cancel()
	_, err := mustNew(t, srv.URL).Status(ctx)
	if err == nil || IsUnreachable(err) {
		t.Fatalf("error %v: want the context's error", err)
	}
}

func TestTLS(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`{"environment":"staging","status":"green","services":[]}`))
	}))
	t.Cleanup(srv.Close)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	pemData := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(ca, pemData, 0o600); err != nil {
		t.Fatal(err)
	}
	for name, opt := range map[string]Option{"CA file": WithCAFile(ca), "insecure": WithInsecureSkipVerify(true)} {
		env, err := mustNew(t, srv.URL, opt).Status(t.Context())
		if err != nil || env.Environment != "staging" {
			t.Errorf("%s: %+v, %v", name, env, err)
		}
	}
	bad := filepath.Join(t.TempDir(), "bad.pem")
	_ = os.WriteFile(bad, []byte("not a certificate"), 0o600)
	if _, err := New(srv.URL, secret, WithCAFile(bad)); err == nil {
		t.Error("a CA file without certificates was accepted")
	}
	if _, err := New(srv.URL, secret, WithCAFile(filepath.Join(t.TempDir(), "missing"))); err == nil {
		t.Error("a missing CA file was accepted")
	}
}

func TestParseEndpoint(t *testing.T) {
	for _, bad := range []string{"", "deploy.example.com", "ftp://x", "http://", "http://x/?a=b", "http://x/#f"} {
		if _, err := New(bad, secret); err == nil {
			t.Errorf("%q accepted", bad)
		} else if strings.Contains(err.Error(), secret) {
			t.Errorf("token in error %v", err)
		}
	}
	c := mustNew(t, "https://ci:pw@deploy.example.com/api/")
	if c.Endpoint() != "https://deploy.example.com/api" {
		t.Errorf("Endpoint() = %q", c.Endpoint())
	}
}

func TestReadMethods(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/status/web":
			_, _ = w.Write([]byte(`{"name":"web","status":"orange","replicas":{"desired":3,"updated":1,"ready":1}}`))
		case "/status/web/pods":
			if r.URL.Query().Get("lines") != "7" {
				t.Errorf("lines = %q", r.URL.Query().Get("lines"))
			}
			_, _ = w.Write([]byte(`{"pods":[{"name":"web-1","phase":"Running","restarts":4,"logs":"boom\n"}]}`))
		case "/audit":
			if r.URL.Query().Get("service") != "web" || r.URL.Query().Get("limit") != "5" {
				t.Errorf("query = %q", r.URL.RawQuery)
			}
			_, _ = w.Write([]byte(`[{"actor":"ci","action":"deploy","service":"web","result":"success"}]`))
		case "/promote":
			_, _ = w.Write([]byte(`{"service":"web","active":"green"}`))
		case "/rollback":
			w.WriteHeader(http.StatusAccepted)
			_, _ = w.Write([]byte(`{"id":"r1","status":"deploying","service":"web","version":"1.0"}`))
		default:
			http.NotFound(w, r)
		}
	})
	c := mustNew(t, srv.URL)
	ctx := t.Context()
	if s, err := c.ServiceStatus(ctx, "web"); err != nil || s.Replicas.Desired != 3 {
		t.Errorf("ServiceStatus = %+v, %v", s, err)
	}
	if p, err := c.Pods(ctx, "web", 7); err != nil || len(p) != 1 || p[0].Restarts != 4 {
		t.Errorf("Pods = %+v, %v", p, err)
	}
	if a, err := c.Audit(ctx, "web", 5); err != nil || len(a) != 1 || a[0].Actor != "ci" {
		t.Errorf("Audit = %+v, %v", a, err)
	}
	if p, err := c.Promote(ctx, "web"); err != nil || p.Active != "green" {
		t.Errorf("Promote = %+v, %v", p, err)
	}
	if d, err := c.Rollback(ctx, "web", ""); err != nil || d.ID != "r1" {
		t.Errorf("Rollback = %+v, %v", d, err)
	}
}
