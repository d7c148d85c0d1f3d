package api

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/envop/envop/internal/auth"
)

// TestRevocationFailsClosed, on the real clock: a token removed from the
// file, then every token once the file is gone, stops working within 10 s;
// an invalid line is reported on /readyz and leaves only itself out.
func TestRevocationFailsClosed(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "tokens")
	write := func(content string) {
		t.Helper()
		// As a Secret volume is updated: a new file renamed into place.
		tmp := filepath.Join(dir, ".tokens.tmp")
		if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, file); err != nil {
			t.Fatal(err)
		}
	}
	write(viewToken + " viewer view\n" + deployToken + " ci deploy\n")
	a, err := auth.New(t.Context(), auth.Options{TokenFile: file})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	h := New(Options{Backend: newFakeBackend(t), Auth: a, Ready: func() error { return nil }, Warnings: a.TokenFileProblems})
	code := func(token string) int {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req("GET", "/status", token, ""))
		return rec.Code
	}
	readyz := func() string {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
		if rec.Code != http.StatusOK {
			t.Fatalf("/readyz = %d: an ignored line must not make the operator unready", rec.Code)
		}
		return rec.Body.String()
	}
	within := func(what string, cond func() bool) {
		t.Helper()
		start := time.Now()
		for !cond() {
			if time.Since(start) > 10*time.Second {
				t.Fatalf("%s: not within 10 s", what)
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Logf("%s after %v", what, time.Since(start).Round(10*time.Millisecond))
	}
	if code(viewToken) != 200 || code(deployToken) != 200 {
		t.Fatal("the tokens do not work to begin with")
	}

	write(viewToken + " viewer view\n" + deployToken + " ci deploy web,Bad\n")
	within("the invalid line reported and left out", func() bool { return code(deployToken) == http.StatusUnauthorized })
	if code(viewToken) != http.StatusOK {
		t.Error("a valid line stopped working because of another one")
	}
	if body := readyz(); !strings.Contains(body, "ok\n") || !strings.Contains(body, "warning: line 2:") || strings.Contains(body, deployToken) {
		t.Errorf("/readyz = %q, want ok and a warning naming line 2 (and never the token)", body)
	}

	write(viewToken + " viewer view\n")
	within("the warning cleared", func() bool { return !strings.Contains(readyz(), "warning") })

	if err := os.Remove(file); err != nil {
		t.Fatal(err)
	}
	within("every token refused once the file is gone", func() bool { return code(viewToken) == http.StatusUnauthorized })
	if body := readyz(); !strings.Contains(body, "warning: read token file") {
		t.Errorf("/readyz = %q, want the missing file reported", body)
	}
}
