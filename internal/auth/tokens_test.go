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
		"tok-echo-0123456789abcdefg web-ci deploy web,web-worker",
		"tok-fox-0123456789abcdefgh ops admin *",
	}, "\n")
	a, _, _ := newTokenAuth(t, content, newFakeClock())
	tests := []struct {
		token, name string
		role        Role
		scope       string
	}{
		{tokA, "ci-pipeline", RoleAdmin, "*"},
		{tokB, "release-bot", RoleDeploy, "*"},  // role defaults to deploy, scope to every service
		{tokC, "token-line-6", RoleDeploy, "*"}, // unnamed: named after its line
		{"tok-delta-0123456789abcdef", "alice", RoleView, "*"},
		{"tok-echo-0123456789abcdefg", "web-ci", RoleDeploy, "web,web-worker"},
		{"tok-fox-0123456789abcdefgh", "ops", RoleAdmin, "*"},
	}
	for _, tt := range tests {
		p, err := a.Authenticate(request("192.0.2.1:1234", "Bearer "+tt.token))
		if err != nil {
			t.Fatalf("token %s: %v", tt.name, err)
		}
		if len(p.Grants) != 1 || p.Name != tt.name || p.Grants[0].Role != tt.role || p.Grants[0].Scope.String() != tt.scope || p.Method != MethodToken {
			t.Errorf("token %s: got %+v, want role %s over %s", tt.name, p, tt.role, tt.scope)
		}
	}
	if problems := a.TokenFileProblems(); len(problems) != 0 {
		t.Errorf("problems in a valid file: %q", problems)
	}
	for _, bad := range []string{"# CI and people", "ci-pipeline", tokA + "x", strings.ToUpper(tokA)} {
		if _, err := a.Authenticate(request("192.0.2.2:1234", "Bearer "+bad)); !errors.Is(err, ErrUnauthenticated) {
			t.Errorf("token %q: err = %v, want ErrUnauthenticated", bad, err)
		}
	}
}

// TestTokenFileBadLinesAreLeftOut: each invalid line is reported by its
// number, never by its content, and only that line is left out.
func TestTokenFileBadLinesAreLeftOut(t *testing.T) {
	secrets := []string{"s3cret-one-0123456789", "s3cret-two-0123456789", "s3cret-three-012345678", "s3cret-four-0123456789"}
	content := strings.Join([]string{
		secrets[0] + " ok deploy",                          // 1
		"# comment",                                        // 2
		secrets[1] + " name " + secrets[2],                 // 3: third field not a role
		secrets[3] + " a view web extra",                   // 4: too many fields
		"s3cret-dup-0123456789 first",                      // 5: duplicated below: both out
		"s3cret-five-0123456789 bob superuser",             // 6: unknown role
		"s3cret-dup-0123456789 again",                      // 7: same token as line 5
		"s3cret-six-0123456789 web view Web_" + secrets[1], // 8: not service names
		"s3cret-seven-012345678 fine view api",             // 9
	}, "\n")
	log, buf := testlog.New()
	path := writeFile(t, t.TempDir(), "tokens", content)
	a, err := New(t.Context(), Options{TokenFile: path, Log: log})
	if err != nil {
		t.Fatalf("New refused a file with good lines: %v", err)
	}
	problems := strings.Join(a.TokenFileProblems(), "\n")
	for _, want := range []string{"line 3:", "line 4:", "line 6:", "line 7: same token as line 5", "line 8:"} {
		if !strings.Contains(problems, want) {
			t.Errorf("problems %q do not mention %q", problems, want)
		}
	}
	for _, s := range append(secrets, "s3cret-five", "superuser", "s3cret-six", "Web_") {
		if strings.Contains(problems, s) || strings.Contains(buf.String(), s) {
			t.Errorf("a token field (%s) leaked into the problems or log: %q / %q", s, problems, buf.String())
		}
	}
	if !strings.Contains(buf.String(), "line 4:") {
		t.Errorf("problems not logged:\n%s", buf.String())
	}
	for tok, ok := range map[string]bool{
		secrets[0]: true, "s3cret-seven-012345678": true,
		secrets[1]: false, secrets[3]: false, "s3cret-dup-0123456789": false, "s3cret-five-0123456789": false, "s3cret-six-0123456789": false,
	} {
		_, err := a.Authenticate(request("192.0.2.9:1", "Bearer "+tok))
		if ok != (err == nil) {
			t.Errorf("token of %q: err = %v, want accepted %v", tok[:10], err, ok)
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
	if p, err := auth(tokB); err != nil || p.Name != "second" || p.Role() != RoleAdmin {
		t.Fatalf("after reload: %+v, %v", p, err)
	}
	if _, err := auth(tokA); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("removed token still accepted: %v", err)
	}

	// A bad line is left out; the rest of the file works.
	writeFile(t, filepath.Dir(path), "tokens", tokC+" third bogus-role\n"+tokB+" second admin\n")
	clock.Advance(3 * time.Second)
	if _, err := auth(tokB); err != nil {
		t.Fatalf("a bad line took the good ones with it: %v", err)
	}
	if _, err := auth(tokC); err == nil {
		t.Fatal("token of an invalid line accepted")
	}
	if p := a.TokenFileProblems(); len(p) != 1 || !strings.Contains(p[0], "line 1") {
		t.Errorf("problems = %q, want line 1", p)
	}

	// A removed file leaves no token working (revocation fails closed),
	// and is logged once.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		clock.Advance(3 * time.Second)
		if _, err := auth(tokB); !errors.Is(err, ErrUnauthenticated) {
			t.Fatalf("token still accepted with the file gone: %v", err)
		}
	}
	if n := strings.Count(logs.String(), "no such file"); n != 1 {
		t.Errorf("missing file logged %d times, want once:\n%s", n, logs.String())
	}
	if p := a.TokenFileProblems(); len(p) != 1 || !strings.Contains(p[0], "no such file") {
		t.Errorf("problems = %q, want the missing file", p)
	}

	// An unreadable file too.
	writeFile(t, filepath.Dir(path), "tokens", tokB+" second admin\n")
	clock.Advance(3 * time.Second)
	if _, err := auth(tokB); err != nil {
		t.Fatalf("after the file came back: %v", err)
	}
	if err := os.Chmod(path, 0); err != nil {
		t.Fatal(err)
	}
	if f, err := os.Open(path); err == nil { // root reads anything
		f.Close()
		if err := os.Remove(path); err != nil {
			t.Fatal(err)
		}
		if err := os.Mkdir(path, 0o700); err != nil { // a directory cannot be read as a file
			t.Fatal(err)
		}
	}
	clock.Advance(3 * time.Second)
	if _, err := auth(tokB); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("token still accepted with the file unreadable: %v", err)
	}
	if err := os.RemoveAll(path); err != nil {
		t.Fatal(err)
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
