package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/object"
	"k8s.io/client-go/rest"

	"github.com/envop/envop/internal/operator"
	"github.com/envop/envop/internal/testcluster"
	"github.com/envop/envop/internal/testlog"
)

func TestMain(m *testing.M) { os.Exit(testcluster.Main(m)) }

const token = "e2e-deploy-token"

// env is one operator under test with its namespace and repository.
type env struct {
	t       *testing.T
	ns      string
	repo    string
	url     string
	cfg     *rest.Config
	writes  *writeCounter
	stop    func()
	logs    *testlog.Buffer
	secret  string
	started int
	// tweak adjusts the operator's options before each start.
	tweak func(*operator.Options)
}

// newEnv creates a namespace, a repository holding manifest (with NS
// replaced by the namespace) and starts an operator confined to the
// namespace by its Role.
func newEnv(t *testing.T, manifest string) *env {
	t.Helper()
	return newEnvWith(t, manifest, nil)
}

// newEnvWith is newEnv with the operator's options adjusted by tweak.
func newEnvWith(t *testing.T, manifest string, tweak func(*operator.Options)) *env {
	t.Helper()
	return newEnvIn(t, testcluster.Namespace(t), manifest, tweak)
}

// newEnvIn is newEnvWith in an existing namespace.
func newEnvIn(t *testing.T, ns, manifest string, tweak func(*operator.Options)) *env {
	t.Helper()
	cfg, _ := testcluster.ServiceAccountClient(t, ns, "envop", operator.RequiredRules())
	return newEnvConfig(t, ns, cfg, manifest, tweak)
}

// newEnvConfig starts an operator acting with cfg in namespace ns.
func newEnvConfig(t *testing.T, ns string, cfg *rest.Config, manifest string, tweak func(*operator.Options)) *env {
	t.Helper()
	e := &env{t: t, tweak: tweak, ns: ns, repo: t.TempDir(), writes: &writeCounter{}, logs: &testlog.Buffer{}, secret: "hook-secret"}
	cfg = rest.CopyConfig(cfg)
	cfg.Wrap(e.writes.wrap)
	e.cfg = cfg
	if _, err := git.PlainInit(e.repo, false); err != nil {
		t.Fatal(err)
	}
	e.commit(manifest)
	e.start()
	t.Cleanup(func() { e.stop() })
	return e
}

// start runs the operator until stop; it waits until the API is ready.
func (e *env) start() {
	t := e.t
	t.Helper()
	dir := t.TempDir()
	tokens := filepath.Join(dir, "tokens")
	if err := os.WriteFile(tokens, []byte(token+" ci deploy\nview-token viewer view\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	secret := filepath.Join(dir, "webhook")
	if err := os.WriteFile(secret, []byte(e.secret), 0o600); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.url = "http://" + ln.Addr().String()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	opts := operator.Options{
		RestConfig: e.cfg, Namespace: e.ns, Environment: "e2e", GitRepo: e.repo,
		PollInterval: time.Hour, ResyncInterval: time.Hour, Listener: ln,
		AuthTokenFile: tokens, WebhookSecretFile: secret,
		Log: slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if e.tweak != nil {
		e.tweak(&opts)
	}
	go func() { done <- operator.Run(ctx, opts) }()
	e.stop = func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("operator returned %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("operator did not stop within 30s")
		}
		e.stop = func() {}
	}
	e.started++
	e.eventually(60*time.Second, "operator ready", func() (bool, string) {
		resp, err := http.Get(e.url + "/readyz")
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		return resp.StatusCode == 200, resp.Status
	})
}

// restart stops the operator and starts a new one on the same namespace.
func (e *env) restart() {
	e.stop()
	e.start()
}

// commit writes the manifest and commits it; it returns the commit's hash.
func (e *env) commit(manifest string) string {
	e.t.Helper()
	manifest = strings.ReplaceAll(manifest, "NS", e.ns)
	if err := os.WriteFile(filepath.Join(e.repo, "environments.bitesize"), []byte(manifest), 0o644); err != nil {
		e.t.Fatal(err)
	}
	r, err := git.PlainOpen(e.repo)
	if err != nil {
		e.t.Fatal(err)
	}
	wt, err := r.Worktree()
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := wt.Add("environments.bitesize"); err != nil {
		e.t.Fatal(err)
	}
	sig := &object.Signature{Name: "Dev", Email: "dev@example.com", When: time.Now()}
	hash, err := wt.Commit("change", &git.CommitOptions{Author: sig, AllowEmptyCommits: true})
	if err != nil {
		e.t.Fatal(err)
	}
	return hash.String()
}

// call sends a request with the deploy token and decodes the JSON answer.
func (e *env) call(method, path string, body any, out any) int {
	e.t.Helper()
	return e.callAs(token, method, path, body, out)
}

func (e *env) callAs(tok, method, path string, body any, out any) int {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		data, _ := json.Marshal(body)
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, e.url+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			e.t.Fatalf("%s %s: decode %q: %v", method, path, data, err)
		}
	}
	return resp.StatusCode
}

func (e *env) eventually(timeout time.Duration, what string, cond func() (bool, string)) {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	last := ""
	for time.Now().Before(deadline) {
		ok, why := cond()
		if ok {
			return
		}
		last = why
		time.Sleep(150 * time.Millisecond)
	}
	e.t.Fatalf("%s: not after %s (last: %s)\noperator log tail:\n%s", what, timeout, last, e.logs.Tail(30))
}

// settle waits until count, one of the operator's request counters, has
// not moved for two seconds: what the operator did last (deploy outcomes,
// Events) is recorded, however loaded the machine.
func (e *env) settle(what string, count func() int) {
	e.t.Helper()
	const quiet = 2 * time.Second
	last, changed := count(), time.Now()
	e.eventually(60*time.Second, what+" settled", func() (bool, string) {
		if n := count(); n != last {
			last, changed = n, time.Now()
		}
		idle := time.Since(changed)
		return idle >= quiet, fmt.Sprintf("%d, the last %s ago", last, idle.Round(time.Millisecond))
	})
}

// writeCounter counts the operator's write requests to the API server.
type writeCounter struct {
	mu     sync.Mutex
	writes []string
	all    int
}

func (w *writeCounter) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripper(func(r *http.Request) (*http.Response, error) {
		w.mu.Lock()
		w.all++
		w.mu.Unlock()
		switch r.Method {
		case http.MethodGet, http.MethodHead:
		default:
			w.mu.Lock()
			w.writes = append(w.writes, r.Method+" "+r.URL.Path)
			w.mu.Unlock()
		}
		return rt.RoundTrip(r)
	})
}

// requests counts every request, reads and watches included.
func (w *writeCounter) requests() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.all
}

func (w *writeCounter) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.writes)
}

func (w *writeCounter) since(n int) []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.writes[n:]...)
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// Views of the API's answers.
type deployView struct {
	ID, Service, Version, Status, Reason, Message, Actor string
}

type serviceView struct {
	Name, Version, Status, Reason, Message string
	Replicas                               struct{ Desired, Updated, Ready, Available int32 }
}

type statusView struct {
	Revision string
	Sync     struct{ Status, Error string }
	Status   string
	Services []serviceView
}

func (e *env) status() statusView {
	var s statusView
	if code := e.call("GET", "/status", nil, &s); code != 200 {
		e.t.Fatalf("GET /status = %d", code)
	}
	return s
}

func (e *env) service(name string) serviceView {
	for _, s := range e.status().Services {
		if s.Name == name {
			return s
		}
	}
	e.t.Fatalf("service %s not in /status", name)
	return serviceView{}
}

// deploy starts a deploy and waits for it to end.
func (e *env) deploy(service, version string) deployView {
	e.t.Helper()
	var d deployView
	if code := e.call("POST", "/deploy", map[string]string{"name": service, "version": version}, &d); code != 202 {
		e.t.Fatalf("POST /deploy %s %s = %d %+v", service, version, code, d)
	}
	if d.Status != "deploying" || d.ID == "" {
		e.t.Fatalf("deploy answer %+v", d)
	}
	return e.wait(d.ID, 90*time.Second)
}

func (e *env) wait(id string, timeout time.Duration) deployView {
	e.t.Helper()
	var d deployView
	if code := e.call("GET", fmt.Sprintf("/deploys/%s?wait=%s", id, timeout), nil, &d); code != 200 {
		e.t.Fatalf("GET /deploys/%s = %d", id, code)
	}
	return d
}
