package trials

import (
	"encoding/pem"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// repo is a git work tree, optionally pushing to a bare repository that a
// gitServer serves.
type repo struct {
	t    *testing.T
	work string
	bare string
	env  []string
}

// newRepo makes a work tree; with bare, also a bare repository it pushes to.
func newRepo(t *testing.T, bare bool) *repo {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatal("the trials need the git binary")
	}
	root := t.TempDir()
	home := filepath.Join(root, "home")
	r := &repo{t: t, work: filepath.Join(root, "work"), env: append(os.Environ(),
		"HOME="+home, "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL="+filepath.Join(home, "gitconfig"),
		"GIT_AUTHOR_NAME=Trial", "GIT_AUTHOR_EMAIL=trial@example.com",
		"GIT_COMMITTER_NAME=Trial", "GIT_COMMITTER_EMAIL=trial@example.com")}
	r.git(root, "init", "-q", "-b", "main", r.work)
	if bare {
		r.bare = filepath.Join(root, "srv", "repo.git")
		r.git(root, "init", "-q", "--bare", "-b", "main", r.bare)
		r.git(r.work, "remote", "add", "origin", r.bare)
	}
	return r
}

func (r *repo) git(dir string, args ...string) string {
	r.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir, cmd.Env = dir, r.env
	out, err := cmd.CombinedOutput()
	if err != nil {
		r.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// commit writes the manifest, commits (and pushes) it, and returns the hash.
func (r *repo) commit(content string) string {
	r.t.Helper()
	writeFile(r.t, filepath.Join(r.work, "environments.bitesize"), content)
	r.git(r.work, "add", "-A")
	r.git(r.work, "commit", "-q", "--allow-empty", "-m", "change")
	if r.bare != "" {
		r.git(r.work, "push", "-q", "origin", "HEAD:main")
	}
	return r.git(r.work, "rev-parse", "HEAD")
}

// gitServer serves a bare repository over smart HTTP (git http-backend)
// behind TLS on a fixed loopback address, and can be stopped and started.
type gitServer struct {
	t       *testing.T
	handler http.Handler
	addr    string
	caFile  string

	mu  sync.Mutex
	srv *httptest.Server
}

func newGitServer(t *testing.T, r *repo) *gitServer {
	t.Helper()
	gitBin, _ := exec.LookPath("git")
	backend := &cgi.Handler{
		Path: gitBin, Args: []string{"http-backend"},
		Env: append(r.env, "GIT_PROJECT_ROOT="+filepath.Dir(r.bare), "GIT_HTTP_EXPORT_ALL=1"),
	}
	g := &gitServer{t: t, handler: backend, addr: freeAddr(t), caFile: filepath.Join(t.TempDir(), "ca.pem")}
	g.start()
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: g.srv.Certificate().Raw})
	writeFile(t, g.caFile, string(pemBytes))
	t.Cleanup(g.stop)
	return g
}

func (g *gitServer) url() string { return "https://" + g.addr + "/repo.git" }

// start serves on the server's address again (httptest's certificate is
// the same every time, so the CA file stays valid).
func (g *gitServer) start() {
	g.t.Helper()
	ln, err := net.Listen("tcp", g.addr)
	if err != nil {
		g.t.Fatalf("listen on %s again: %v", g.addr, err)
	}
	srv := httptest.NewUnstartedServer(g.handler)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	g.mu.Lock()
	g.srv = srv
	g.mu.Unlock()
}

// stop closes the listener and every connection.
func (g *gitServer) stop() {
	g.mu.Lock()
	srv := g.srv
	g.srv = nil
	g.mu.Unlock()
	if srv != nil {
		srv.CloseClientConnections()
		srv.Close()
	}
}
