package auth

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/envop/envop/internal/testlog"
)

const (
	tokA = "tok-alpha-0123456789abcdef"
	tokB = "tok-bravo-0123456789abcdef"
	tokC = "tok-charlie-0123456789abcd"
)

func newTokenAuth(t *testing.T, content string, clock *fakeClock) (*Authenticator, string, *testlog.Buffer) {
	t.Helper()
	log, buf := testlog.New()
	path := writeFile(t, t.TempDir(), "tokens", content)
	a, err := New(t.Context(), Options{TokenFile: path, Log: log, Now: clock.Now})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(a.Close)
	return a, path, buf
}

func TestTokenFileParsing(t *testing.T) {
	content := strings.Join([]string{
		"# CI and people",
		"",
		"   " + tokA + "   ci-pipeline   admin  ",
		tokB + " release-bot",
		"\t# indented comment",
		tokC,
		"tok-delta-0123456789abcdef alice view",
	}, "\n")
	a, _, _ := newTokenAuth(t, content, newFakeClock())
	tests := []struct {
		token, name string
		role        Role
	}{
		{tokA, "ci-pipeline", RoleAdmin},
		{tokB, "release-bot", RoleDeploy},  // role defaults to deploy
		{tokC, "token-line-6", RoleDeploy}, // unnamed: named after its line
		{"tok-delta-0123456789abcdef", "alice", RoleView},
	}
	for _, tt := range tests {
		p, err := a.Authenticate(request("192.0.2.1:1234", "Bearer "+tt.token))
		if err != nil {
			t.Fatalf("token %s: %v", tt.name, err)
		}
		want := Principal{Name: tt.name, Role: tt.role, Method: MethodToken}
		if p.Name != want.Name || p.Role != want.Role || p.Method != want.Method {
			t.Errorf("token %s: got %+v, want %+v", tt.name, p, want)
		}
	}
	for _, bad := range []string{"# CI and people", "ci-pipeline", tokA + "x", strings.ToUpper(tokA)} {
		if _, err := a.Authenticate(request("192.0.2.2:1234", "Bearer "+bad)); !errors.Is(err, ErrUnauthenticated) {
			t.Errorf("token %q: err = %v, want ErrUnauthenticated", bad, err)
		}
	}
}

func TestTokenFileErrorsNameLinesNotTokens(t *testing.T) {
	secrets := []string{"s3cret-one-0123456789", "s3cret-two-0123456789", "s3cret-three-012345678", "s3cret-four-0123456789"}
	content := strings.Join([]string{
		secrets[0] + " ok deploy",              // 1
		"# comment",                            // 2
		secrets[1] + " name " + secrets[2],     // 3: third field not a role
		secrets[3] + " a view extra",           // 4: too many fields
		secrets[0] + " again",                  // 5: duplicate of line 1
		"s3cret-five-0123456789 bob superuser", // 6: unknown role
	}, "\n")
	log, buf := testlog.New()
	path := writeFile(t, t.TempDir(), "tokens", content)
	_, err := New(t.Context(), Options{TokenFile: path, Log: log})
	if err == nil {
		t.Fatal("New succeeded with an invalid token file")
	}
	msg := err.Error()
	for _, want := range []string{"line 3:", "line 4:", "line 5: same token as line 1", "line 6:", path} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not mention %q", msg, want)
		}
	}
	for _, s := range append(secrets, "s3cret-five", "superuser") {
		if strings.Contains(msg, s) || strings.Contains(buf.String(), s) {
			t.Errorf("a token field (%s) leaked into the error or log: %q / %q", s, msg, buf.String())
		}
	}
}

func TestTokenFileMissing(t *testing.T) {
	if _, err := New(t.Context(), Options{TokenFile: filepath.Join(t.TempDir(), "nope")}); err == nil {
		t.Fatal("New succeeded with a missing token file")
	}
}

func TestTokenFileTooLarge(t *testing.T) {
	big := strings.Repeat("# padding padding padding padding\n", maxTokenFileSize/30)
	path := writeFile(t, t.TempDir(), "tokens", big)
	if _, err := New(t.Context(), Options{TokenFile: path}); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("New: err = %v, want a size error", err)
	}
}

func TestTokenFileReload(t *testing.T) {
	clock := newFakeClock()
	a, path, logs := newTokenAuth(t, tokA+" first view\n", clock)
	auth := func(tok string) (Principal, error) {
		return a.Authenticate(request("192.0.2.1:1", "Bearer "+tok))
	}
	if p, err := auth(tokA); err != nil || p.Name != "first" {
		t.Fatalf("initial: %+v, %v", p, err)
	}

	// Rotate: tokA gone, tokB in. Not seen before the check interval passes.
	writeFile(t, filepath.Dir(path), "tokens", tokB+" second admin\n")
	if _, err := auth(tokA); err != nil {
		t.Fatalf("token file re-read before the check interval: %v", err)
	}
	clock.Advance(3 * time.Second)
	if p, err := auth(tokB); err != nil || p.Name != "second" || p.Role != RoleAdmin {
		t.Fatalf("after reload: %+v, %v", p, err)
	}
	if _, err := auth(tokA); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("removed token still accepted: %v", err)
	}

	// An invalid file keeps the last good set and logs the line.
	writeFile(t, filepath.Dir(path), "tokens", tokC+" third bogus-role\n")
	clock.Advance(3 * time.Second)
	if _, err := auth(tokB); err != nil {
		t.Fatalf("invalid file replaced the good set: %v", err)
	}
	if _, err := auth(tokC); err == nil {
		t.Fatal("token from an invalid file accepted")
	}
	if !strings.Contains(logs.String(), "line 1") {
		t.Errorf("invalid reload not logged with its line: %s", logs.String())
	}

	// An unreadable (removed) file keeps the last good set and logs once.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		clock.Advance(3 * time.Second)
		if _, err := auth(tokB); err != nil {
			t.Fatalf("missing file dropped the good set: %v", err)
		}
	}
	if n := strings.Count(logs.String(), "no such file"); n != 1 {
		t.Errorf("missing file logged %d times, want once:\n%s", n, logs.String())
	}

	// Back again: picked up.
	writeFile(t, filepath.Dir(path), "tokens", tokC+" fourth\n")
	clock.Advance(3 * time.Second)
	if p, err := auth(tokC); err != nil || p.Name != "fourth" {
		t.Fatalf("after the file came back: %+v, %v", p, err)
	}
	for _, tok := range []string{tokA, tokB, tokC} {
		if strings.Contains(logs.String(), tok) {
			t.Errorf("token %s logged:\n%s", tok, logs.String())
		}
	}
}

func TestTokenFileNotReadOnEveryRequest(t *testing.T) {
	clock := newFakeClock()
	a, path, _ := newTokenAuth(t, tokA+" ci\n", clock)
	// Remove the file: within the check interval nothing notices, since
	// the file is neither read nor stat'ed on each request.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	for range 100 {
		if _, err := a.Authenticate(request("192.0.2.1:1", "Bearer "+tokA)); err != nil {
			t.Fatalf("file consulted within the check interval: %v", err)
		}
	}
	if got := a.tokens.next; !got.After(clock.Now()) {
		t.Errorf("next check %v not after now %v", got, clock.Now())
	}
}

func TestTokensComparedInConstantTimeAgainstAll(t *testing.T) {
	calls := 0
	orig := constantTimeCompare
	constantTimeCompare = func(x, y []byte) int {
		calls++
		return orig(x, y)
	}
	t.Cleanup(func() { constantTimeCompare = orig })

	a, _, _ := newTokenAuth(t, tokA+" a\n"+tokB+" b\n"+tokC+" c\n", newFakeClock())
	for _, tok := range []string{tokA, tokC, "unknown-token-0123456789"} {
		calls = 0
		_, _ = a.Authenticate(request("192.0.2.1:1", "Bearer "+tok))
		if calls != 3 {
			t.Errorf("token %q: %d constant-time comparisons, want one per configured token (3)", tok, calls)
		}
	}
	// Surrounding whitespace is trimmed before comparing.
	if p, err := a.Authenticate(request("192.0.2.1:1", "Bearer   "+tokB+"  ")); err != nil || p.Name != "b" {
		t.Errorf("padded token: %+v, %v", p, err)
	}
}
