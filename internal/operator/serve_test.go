package operator

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/envop/envop/internal/metrics"
)

func TestProbesAnswerOtherMethodsWith405(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	api := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) })
	srv, _, err := httpServer(Options{Listener: ln}, Parts{Metrics: metrics.New()}, api)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		method, path string
		code         int
	}{
		{"GET", "/healthz", http.StatusOK},
		{"HEAD", "/healthz", http.StatusOK},
		{"GET", "/metrics", http.StatusOK},
		{"POST", "/healthz", http.StatusMethodNotAllowed},
		{"DELETE", "/readyz", http.StatusMethodNotAllowed},
		{"PUT", "/metrics", http.StatusMethodNotAllowed},
		{"POST", "/status", http.StatusTeapot}, // the API's own
		{"GET", "/healthz/x", http.StatusTeapot},
	} {
		rec := httptest.NewRecorder()
		srv.Handler.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, nil))
		if rec.Code != tt.code {
			t.Errorf("%s %s = %d, want %d", tt.method, tt.path, rec.Code, tt.code)
			continue
		}
		if tt.code != http.StatusMethodNotAllowed {
			continue
		}
		var body struct {
			Error string `json:"error"`
			Code  int    `json:"code"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Code != 405 || body.Error == "" {
			t.Errorf("%s %s body = %q (%v), want the API's error shape", tt.method, tt.path, rec.Body, err)
		}
		if got := rec.Header().Get("Allow"); got != "GET, HEAD" {
			t.Errorf("%s %s Allow = %q", tt.method, tt.path, got)
		}
	}
}
