package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/envop/envop/internal/controller"
)

// TestProbes: /healthz, /readyz and /metrics need no token, and answer
// other methods with the 405, Allow and error shape of every route.
func TestProbes(t *testing.T) {
	var notReady error
	h := New(Options{
		Ready:   func() error { return notReady },
		Metrics: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("m 1\n")) }),
	})
	type answer struct {
		Error string `json:"error"`
		Code  int    `json:"code"`
	}
	do := func(method, path string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
		return rec
	}
	for _, tt := range []struct {
		method, path string
		code         int
		allow        string
	}{
		{"GET", "/healthz", http.StatusOK, ""},
		{"HEAD", "/healthz", http.StatusOK, ""},
		{"GET", "/readyz", http.StatusOK, ""},
		{"GET", "/metrics", http.StatusOK, ""},
		{"POST", "/healthz", http.StatusMethodNotAllowed, "GET, HEAD"},
		{"DELETE", "/readyz", http.StatusMethodNotAllowed, "GET, HEAD"},
		{"PUT", "/metrics", http.StatusMethodNotAllowed, "GET, HEAD"},
		{"GET", "/healthz/x", http.StatusNotFound, ""},
	} {
		rec := do(tt.method, tt.path)
		if rec.Code != tt.code || rec.Header().Get("Allow") != tt.allow {
			t.Errorf("%s %s = %d, Allow %q; want %d, %q", tt.method, tt.path, rec.Code, rec.Header().Get("Allow"), tt.code, tt.allow)
		}
		var body answer
		if tt.code >= 400 && (json.Unmarshal(rec.Body.Bytes(), &body) != nil || body.Code != tt.code || body.Error == "") {
			t.Errorf("%s %s body %q, want the API's error shape", tt.method, tt.path, rec.Body)
		}
	}
	notReady = fmt.Errorf("not ready: %w", controller.ErrNotReady)
	rec := do("GET", "/readyz")
	var body answer
	if rec.Code != http.StatusServiceUnavailable || json.Unmarshal(rec.Body.Bytes(), &body) != nil || body.Code != 503 {
		t.Errorf("not ready: %d %s, want 503 in the API's error shape", rec.Code, rec.Body)
	}
}
