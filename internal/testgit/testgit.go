// Package testgit makes git repositories for tests and serves them over
// smart HTTP (git http-backend, as git hosts serve them) on loopback, plain
// or behind TLS, so that what fetches them is tested against a real git
// server. It needs the git binary, and fails the test without it.
package testgit

import (
	"cmp"
	"crypto/subtle"
	"encoding/pem"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/envop/envop/internal/githttp"
)

// Require fails the test without the git binary and returns its path.
func Require(t testing.TB) string {
	t.Helper()
	bin, err := exec.LookPath("git")
	if err != nil {
		t.Fatal("the git binary is required (apt-get install git):", err)
	}
	return bin
}

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

// Git runs git in dir with env and returns its trimmed output. New
// repositories start on branch main, and file:// URLs are allowed
// everywhere (recent git refuses them for submodules).
func Git(t testing.TB, env []string, dir string, args ...string) string {
	t.Helper()
	Require(t)
	cmd := exec.Command("git", append([]string{"-c", "init.defaultBranch=main", "-c", "protocol.file.allow=always"}, args...)...)
	cmd.Dir, cmd.Env = dir, env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// WriteFiles writes files (slash path → content) under dir, making the
// directories they need.
func WriteFiles(t testing.TB, dir string, files map[string]string) {
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

// Repo is a work tree on branch main and, unless made by NewWorkTree, the
// bare repository it pushes to: the one a Server serves.
type Repo struct {
	t          testing.TB
	env        []string
	Bare, Work string
}

// NewRepo makes an empty repository, its bare one named repo.git.
func NewRepo(t testing.TB) *Repo {
	t.Helper()
	return NewNamedRepo(t, "repo.git")
}

// NewNamedRepo is NewRepo with the bare repository named name, the last
// segment of its URL on a Server, so that one server can serve several.
func NewNamedRepo(t testing.TB, name string) *Repo {
	t.Helper()
	r := NewWorkTree(t)
	r.Bare = filepath.Join(t.TempDir(), name)
	Git(t, r.env, filepath.Dir(r.Bare), "init", "-q", "--bare", "-b", "main", r.Bare)
	r.Git("remote", "add", "origin", r.Bare)
	return r
}

// NewWorkTree makes a work tree alone, for what reads a local checkout:
// Commit commits and pushes nothing.
func NewWorkTree(t testing.TB) *Repo {
	t.Helper()
	root := t.TempDir()
	r := &Repo{t: t, env: Env(t), Work: filepath.Join(root, "work")}
	Git(t, r.env, root, "init", "-q", "-b", "main", r.Work)
	return r
}

// Git runs git in the work tree and returns its trimmed output.
func (r *Repo) Git(args ...string) string {
	r.t.Helper()
	return Git(r.t, r.env, r.Work, args...)
}

// Commit writes files (slash path → content) in the work tree, commits
// them and pushes the current branch to the bare repository, if any; it
// returns the commit's hash.
func (r *Repo) Commit(msg string, files map[string]string) string {
	r.t.Helper()
	WriteFiles(r.t, r.Work, files)
	r.Git("add", "-A")
	r.Git("commit", "-q", "--allow-empty", "-m", msg)
	if r.Bare != "" {
		r.Git("push", "-q", "origin", "HEAD")
	}
	return r.Git("rev-parse", "HEAD")
}

// Server serves repositories over HTTP, plain or TLS, on a loopback
// address that stays the same when it is stopped and started again.
type Server struct {
	t      testing.TB
	env    []string
	token  string
	addr   string
	tls    bool
	caFile string

	mu      sync.Mutex
	repos   map[string]string // URL path segment → repository directory
	secrets []string
	srv     *httptest.Server
}

// Serve starts a plain HTTP server. With token, every request must send it
// in basic authentication: as the password (any user name) or as the user
// name.
func Serve(t testing.TB, token string) *Server {
	t.Helper()
	return serve(t, token, false)
}

// ServeTLS is Serve over TLS: its URLs are https, and CAFile verifies it.
func ServeTLS(t testing.TB, token string) *Server {
	t.Helper()
	s := serve(t, token, true)
	// httptest's certificate is the same on every start: the file stays
	// valid across Stop and Start.
	s.caFile = filepath.Join(t.TempDir(), "ca.pem")
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.srv.Certificate().Raw})
	if err := os.WriteFile(s.caFile, ca, 0o600); err != nil {
		t.Fatal(err)
	}
	return s
}

func serve(t testing.TB, token string, tls bool) *Server {
	t.Helper()
	Require(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{t: t, env: Env(t), token: token, addr: ln.Addr().String(), tls: tls, repos: map[string]string{}}
	s.startOn(ln)
	t.Cleanup(s.Stop)
	return s
}

// URL is the server's scheme and address, without a path.
func (s *Server) URL() string {
	if s.tls {
		return "https://" + s.addr
	}
	return "http://" + s.addr
}

// CAFile is the path of the PEM certificate that verifies a ServeTLS
// server; empty for Serve.
func (s *Server) CAFile() string { return s.caFile }

// Add serves the repository in dir (bare, or a work tree: its .git) and
// returns its URL, URL()/NAME with NAME dir's base name.
func (s *Server) Add(dir string) string {
	name := filepath.Base(dir)
	s.mu.Lock()
	s.repos[name] = dir
	s.mu.Unlock()
	return s.URL() + "/" + name
}

// Secrets returns the secrets the requests sent, in order: each basic
// authentication's password, or its user name where the password is empty.
// A test checks with it that a token never reached this server.
func (s *Server) Secrets() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.secrets...)
}

// ServeHTTP runs git http-backend for the repository the path names.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	user, pass, sent := r.BasicAuth()
	secret := cmp.Or(pass, user)
	s.mu.Lock()
	if sent {
		s.secrets = append(s.secrets, secret)
	}
	name, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	dir, ok := s.repos[name]
	s.mu.Unlock()
	if s.token != "" && subtle.ConstantTimeCompare([]byte(secret), []byte(s.token)) != 1 {
		w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	if !ok {
		http.NotFound(w, r)
		return
	}
	githttp.Backend(dir, s.env).ServeHTTP(w, r)
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
	// Handshakes the client under test refuses, and connections cut by
	// Stop, are expected: nothing to log.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	if s.tls {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	s.mu.Lock()
	s.srv = srv
	s.mu.Unlock()
}
