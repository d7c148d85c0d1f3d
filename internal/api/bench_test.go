package api

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/envop/envop/internal/auth"
	"github.com/envop/envop/internal/status"
)

// staticBackend answers Status with a fixed view; the real backend's cost
// (building the view from the watch caches) is benchmarked with it.
type staticBackend struct {
	Backend
	view status.Environment
}

func (b staticBackend) Status() status.Environment { return b.view }

func view100() status.Environment {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	env := status.Environment{
		Environment: "production", Namespace: "prod", Revision: "0123456789abcdef0123456789abcdef01234567",
		Sync: status.Sync{Status: "synced", At: &at}, Status: "green",
	}
	for i := range 100 {
		env.Services = append(env.Services, status.Service{
			Name: fmt.Sprintf("service-%03d", i), Application: fmt.Sprintf("service-%03d", i), Version: "1.2.3-build.456",
			Status: "green", Replicas: status.Replicas{Desired: 3, Updated: 3, Ready: 3, Available: 3},
			DeployedAt: &at, ExternalURL: []string{fmt.Sprintf("service-%03d.example.com", i)},
			Kind: "deployment", Workload: fmt.Sprintf("service-%03d", i),
		})
	}
	return env
}

// BenchmarkStatus100 is GET /status through the whole handler (request id,
// static-token authentication, JSON encoding) for 100 services.
func BenchmarkStatus100(b *testing.B) {
	tokenFile := filepath.Join(b.TempDir(), "tokens")
	if err := os.WriteFile(tokenFile, []byte(viewToken+" bench view\n"+deployToken+" ci deploy\n"), 0o600); err != nil {
		b.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	a, err := auth.New(b.Context(), auth.Options{TokenFile: tokenFile, Log: log})
	if err != nil {
		b.Fatal(err)
	}
	h := New(Options{Backend: staticBackend{view: view100()}, Auth: a, Log: log})
	r := httptest.NewRequest("GET", "/status", nil)
	r.Header.Set("Authorization", "Bearer "+viewToken)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	if rec.Code != http.StatusOK {
		b.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	b.SetBytes(int64(rec.Body.Len()))
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
	}
}
