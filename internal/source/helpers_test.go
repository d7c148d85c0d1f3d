package source

import (
	"bytes"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// gitEnv isolates the git binary used to build fixtures from the user's and
// the machine's configuration.
func gitEnv(t *testing.T) []string {
	home := t.TempDir()
	return append(os.Environ(),
		"HOME="+home,
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL="+filepath.Join(home, "gitconfig"),
		"GIT_AUTHOR_NAME=Ada", "GIT_AUTHOR_EMAIL=ada@example.com",
		"GIT_COMMITTER_NAME=Ada", "GIT_COMMITTER_EMAIL=ada@example.com",
	)
}

// runGit runs git in dir and returns its trimmed output.
func runGit(t *testing.T, dir string, args ...string) string {
	t.Helper()
	requireGit(t)
	cmd := exec.Command("git", append([]string{"-c", "init.defaultBranch=main", "-c", "protocol.file.allow=always"}, args...)...)
	cmd.Dir = dir
	cmd.Env = gitEnv(t)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// upstream is a bare repository and a work tree that pushes to it.
type upstream struct {
	bare, work string
}

func newUpstream(t *testing.T) *upstream {
	t.Helper()
	root := t.TempDir()
	u := &upstream{bare: filepath.Join(root, "repo.git"), work: filepath.Join(root, "work")}
	runGit(t, root, "init", "--bare", "-b", "main", u.bare)
	runGit(t, root, "init", "-b", "main", u.work)
	runGit(t, u.work, "remote", "add", "origin", u.bare)
	return u
}

// commit writes files (path → content) in the work tree, commits and
// pushes the current branch; it returns the commit hash.
func (u *upstream) commit(t *testing.T, msg string, files map[string]string) string {
	t.Helper()
	writeFiles(t, u.work, files)
	runGit(t, u.work, "add", "-A")
	runGit(t, u.work, "commit", "-q", "--allow-empty", "-m", msg)
	runGit(t, u.work, "push", "-q", "-u", "origin", "HEAD")
	return runGit(t, u.work, "rev-parse", "HEAD")
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func readSnap(t *testing.T, snap *Snapshot, name string) string {
	t.Helper()
	b, err := fs.ReadFile(snap.Files, name)
	if err != nil {
		t.Fatalf("read %s from %s: %v", name, shortRev(snap.Revision), err)
	}
	return string(b)
}

// logBuf collects log output for assertions.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func newTestLogger() (*slog.Logger, *logBuf) {
	buf := &logBuf{}
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})), buf
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// requireGit fails the test without the git binary: the file:// transport,
// the https test server (git http-backend) and the ssh test server
// (git upload-pack) need it, and dev and CI machines have it.
func requireGit(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("git")
	if err != nil {
		t.Fatal("the git binary is required (apt-get install git):", err)
	}
	return bin
}
