// Package testgit makes git repositories for tests and serves them over
// smart HTTP (git http-backend, as git hosts serve them) on loopback, so
// that what fetches them is tested against a real git server. It needs the
// git binary, and fails the test without it.
package testgit

import (
	"crypto/subtle"
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

// Env isolates the git binary from the user's and the machine's
// configuration, with a fixed author.
func Env(t testing.TB) []string {
	t.Helper()
	home := t.TempDir()
	return append(os.Environ(),
		"HOME="+home,
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL="+filepath.Join(home, "gitconfig"),
		"GIT_AUTHOR_NAME=Ada", "GIT_AUTHOR_EMAIL=ada@example.com",
		"GIT_COMMITTER_NAME=Ada", "GIT_COMMITTER_EMAIL=ada@example.com",
	)
}

// Git runs git in dir with env and returns its trimmed output.
func Git(t testing.TB, env []string, dir string, args ...string) string {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatal("the git binary is required (apt-get install git):", err)
	}
	cmd := exec.Command("git", append([]string{"-c", "init.defaultBranch=main"}, args...)...)
	cmd.Dir, cmd.Env = dir, env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// Repo is a bare repository, the one served, and a work tree that pushes
// to it, on branch main.
type Repo struct {
	t          testing.TB
	env        []string
	Bare, Work string
}

// NewRepo makes an empty repository.
func NewRepo(t testing.TB) *Repo {
	t.Helper()
	root := t.TempDir()
	r := &Repo{t: t, env: Env(t), Bare: filepath.Join(root, "repo.git"), Work: filepath.Join(root, "work")}
	Git(t, r.env, root, "init", "-q", "--bare", "-b", "main", r.Bare)
	Git(t, r.env, root, "init", "-q", "-b", "main", r.Work)
	Git(t, r.env, r.Work, "remote", "add", "origin", r.Bare)
	return r
}

// Commit writes files (slash path → content) in the work tree, commits
// and pushes them, and returns the commit's hash.
func (r *Repo) Commit(msg string, files map[string]string) string {
	r.t.Helper()
	for name, content := range files {
		p := filepath.Join(r.Work, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			r.t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			r.t.Fatal(err)
		}
	}
	Git(r.t, r.env, r.Work, "add", "-A")
	Git(r.t, r.env, r.Work, "commit", "-q", "--allow-empty", "-m", msg)
	Git(r.t, r.env, r.Work, "push", "-q", "origin", "HEAD:main")
	return Git(r.t, r.env, r.Work, "rev-parse", "HEAD")
}

// Server serves repositories over plain HTTP on a loopback address that
// stays the same when it is stopped and started again.
type Server struct {
	t     testing.TB
	env   []string
	token string
	addr  string

	mu    sync.Mutex
	repos map[string]string // URL path segment → repository directory
	srv   *httptest.Server
}

// Serve starts a server. With token, every request must send it in basic
// authentication: as the password (any user name) or as the user name.
func Serve(t testing.TB, token string) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{t: t, env: Env(t), token: token, addr: ln.Addr().String(), repos: map[string]string{}}
	s.startOn(ln)
	t.Cleanup(s.Stop)
	return s
}

// Add serves the repository in dir (bare, or a work tree: its .git) and
// returns its URL, http://ADDR/NAME with NAME dir's base name.
func (s *Server) Add(dir string) string {
	name := filepath.Base(dir)
	s.mu.Lock()
	s.repos[name] = dir
	s.mu.Unlock()
	return "http://" + s.addr + "/" + name
}

// ServeHTTP runs git http-backend for the repository the path names.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.token != "" {
		user, pass, _ := r.BasicAuth()
		if pass == "" {
			pass = user
		}
		if subtle.ConstantTimeCompare([]byte(pass), []byte(s.token)) != 1 {
			w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
	}
	name, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	s.mu.Lock()
	dir, ok := s.repos[name]
	s.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	gitBin, err := exec.LookPath("git")
	if err != nil {
		http.Error(w, "no git binary", http.StatusInternalServerError)
		return
	}
	backend := &cgi.Handler{Path: gitBin, Args: []string{"http-backend"},
		Env: append(append([]string(nil), s.env...), "GIT_PROJECT_ROOT="+filepath.Dir(dir), "GIT_HTTP_EXPORT_ALL=1")}
	backend.ServeHTTP(w, r)
}

// Stop closes the listener and every connection: the address refuses
// connections until Start.
func (s *Server) Stop() {
	s.mu.Lock()
	srv := s.srv
	s.srv = nil
	s.mu.Unlock()
	if srv != nil {
		srv.CloseClientConnections()
		srv.Close()
	}
}

// Start serves on the same address again.
func (s *Server) Start() {
	s.t.Helper()
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		s.t.Fatalf("listen on %s again: %v", s.addr, err)
	}
	s.startOn(ln)
}

func (s *Server) startOn(ln net.Listener) {
	srv := httptest.NewUnstartedServer(s)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.Start()
	s.mu.Lock()
	s.srv = srv
	s.mu.Unlock()
}
