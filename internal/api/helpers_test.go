package api

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/envop/envop/internal/audit"
	"github.com/envop/envop/internal/auth"
	"github.com/envop/envop/internal/controller"
	"github.com/envop/envop/internal/health"
	"github.com/envop/envop/internal/manifest"
	"github.com/envop/envop/internal/state"
	"github.com/envop/envop/internal/status"
	"github.com/envop/envop/internal/testlog"
)

// Tokens of the test token file; long enough not to draw a warning.
const (
	viewToken   = "view-tok-6f1d2c3b4a5e6f708192a3b4"
	deployToken = "deploy-tok-0a9b8c7d6e5f4a3b2c1d0e9f"
	adminToken  = "admin-tok-1234abcd5678ef90aa55bb66"
	badToken    = "not-a-token-77aa88bb99cc00dd11ee22ff"
	hookSecret  = "hook-secret-5c4b3a29180f7e6d"
	// webToken may deploy api only; apiViewToken may only view api and web.
	apiToken     = "api-tok-5e6f7a8b9c0d1e2f3a4b5c6d"
	apiViewToken = "api-view-tok-0f1e2d3c4b5a69788796"
)

// fakeBackend is an in-memory api.Backend with the controller's semantics
// for what the API relies on: its errors, deploy ids, waiting.
type fakeBackend struct {
	mu          sync.Mutex
	view        status.Environment
	notReady    bool
	deploys     map[string]state.Deploy
	changed     chan struct{} // closed and replaced on every deploy change
	finishAfter time.Duration // >0: a deploy succeeds after this long
	seq         int
	succeeded   map[string]string // service -> version to roll back to
	promotable  map[string]bool   // blue/green services whose other colour is healthy
	records     []audit.Record
	pods        map[string][]Pod
	webhooks    []string
	callers     []controller.Caller // of the deploys started
	auditCalls  []string
	timers      []*time.Timer
}

func newFakeBackend(t *testing.T) *fakeBackend {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	env := &manifest.Environment{
		Name: "staging-xq7", Namespace: "ns-staging-xq7",
		Services: []manifest.Service{
			{Name: "api", Version: "1.4.2", ExternalURL: []string{"api.example.test"}},
			{Name: "web"},
			{Name: "worker", Application: "jobs"},
		},
	}
	states := map[string]*state.Service{
		"api": {Name: "api", Intents: map[string]state.Intent{"api": {Version: "1.4.2", Source: state.SourceGit, At: now}}},
		"worker": {Name: "worker", Intents: map[string]state.Intent{"worker": {Version: "9.9.9-rc1", Source: state.SourceAPI, At: now}},
			History: []state.Deploy{{ID: "d-old", Service: "worker", Workload: "worker", Version: "9.9.9-rc1", Status: state.StatusFailed, Reason: "ImagePullBackOff", Message: "image not found", StartedAt: now, FinishedAt: now}}},
	}
	at := now
	view := status.Build(status.Input{
		Environment: "staging-xq7", Namespace: "ns-staging-xq7", Revision: "c0ffee1234567890",
		Sync: status.Sync{Status: "synced", At: &at}, Env: env, States: states,
		Workloads: []health.Workload{
			{Service: "api", Name: "api", Kind: "Deployment", Version: "1.4.2", Status: health.Green, Replicas: health.Replicas{Desired: 2, Updated: 2, Ready: 2, Available: 2}},
			{Service: "worker", Name: "worker", Kind: "Deployment", Version: "9.9.9-rc1", Status: health.Red, Reason: "ImagePullBackOff"},
		},
	})
	f := &fakeBackend{
		view: view, deploys: map[string]state.Deploy{}, changed: make(chan struct{}),
		succeeded:  map[string]string{"api": "1.4.1"},
		promotable: map[string]bool{},
		pods: map[string][]Pod{"api": {
			{Name: "api-7d9f-abcde", Phase: "Running", Ready: true, StartedAt: &at, Logs: "listening on :8080"},
			{Name: "api-7d9f-fghij", Phase: "Pending", Reason: "Unschedulable"},
		}},
	}
	for i := range 5 {
		f.records = append(f.records, audit.Record{
			Time: now.Add(time.Duration(i) * time.Minute), Actor: "ci", Action: audit.ActionDeploy,
			Service: []string{"api", "web"}[i%2], Version: fmt.Sprintf("1.%d", i), Revision: "c0ffee", Result: audit.ResultAccepted,
		})
	}
	t.Cleanup(func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		for _, tm := range f.timers {
			tm.Stop()
		}
	})
	return f
}

var _ Backend = (*fakeBackend)(nil)

func (f *fakeBackend) Status() status.Environment {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.view
}

func (f *fakeBackend) Pods(_ context.Context, service string, lines int64) ([]Pod, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.pods[service], nil
}

// service mirrors controller.findService.
func (f *fakeBackend) service(name string) error {
	if f.notReady {
		return controller.ErrNotReady
	}
	for _, s := range f.view.Services {
		if s.Name == name {
			return nil
		}
	}
	if errs := validation.IsDNS1123Label(name); len(errs) > 0 {
		return fmt.Errorf("%w: service name %q: %s", controller.ErrInvalid, name, errs[0])
	}
	return fmt.Errorf("%w %q", controller.ErrUnknownService, name)
}

func (f *fakeBackend) Deploy(_ context.Context, req controller.DeployRequest) (state.Deploy, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.start(req)
}

func (f *fakeBackend) start(req controller.DeployRequest) (state.Deploy, error) {
	if err := f.service(req.Service); err != nil {
		return state.Deploy{}, err
	}
	if errs := validation.IsValidLabelValue(req.Version); req.Version == "" || len(errs) > 0 {
		return state.Deploy{}, fmt.Errorf("%w: version %q", controller.ErrInvalid, req.Version)
	}
	f.seq++
	f.callers = append(f.callers, req.Caller)
	d := state.Deploy{
		ID: fmt.Sprintf("dep-%d", f.seq), Service: req.Service, Workload: req.Service, Version: req.Version,
		Source: state.SourceAPI, Actor: req.Actor, Status: state.StatusDeploying, StartedAt: time.Now().UTC(),
	}
	f.deploys[d.ID] = d
	if f.finishAfter > 0 {
		f.timers = append(f.timers, time.AfterFunc(f.finishAfter, func() { f.finish(d.ID) }))
	}
	return d, nil
}

func (f *fakeBackend) finish(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	d := f.deploys[id]
	d.Status, d.FinishedAt = state.StatusSucceeded, time.Now().UTC()
	f.deploys[id] = d
	close(f.changed)
	f.changed = make(chan struct{})
}

func (f *fakeBackend) Rollback(_ context.Context, req controller.DeployRequest) (state.Deploy, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if req.Version == "" {
		if err := f.service(req.Service); err != nil {
			return state.Deploy{}, err
		}
		v, ok := f.succeeded[req.Service]
		if !ok {
			return state.Deploy{}, fmt.Errorf("%w: service %q has no earlier successful version to roll back to", controller.ErrConflict, req.Service)
		}
		req.Version = v
	}
	return f.start(req)
}

func (f *fakeBackend) Promote(_ context.Context, service string, _ controller.Caller) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.service(service); err != nil {
		return "", err
	}
	if !f.promotable[service] {
		return "", fmt.Errorf("%w: cannot promote green of service %q: it is red (CrashLoopBackOff)", controller.ErrConflict, service)
	}
	return "green", nil
}

func (f *fakeBackend) GetDeploy(id string) (state.Deploy, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	d, ok := f.deploys[id]
	return d, ok
}

func (f *fakeBackend) WaitDeploy(ctx context.Context, id string) (state.Deploy, bool) {
	for {
		f.mu.Lock()
		d, ok := f.deploys[id]
		ch := f.changed
		f.mu.Unlock()
		if !ok || d.Done() {
			return d, ok
		}
		select {
		case <-ctx.Done():
			return d, true
		case <-ch:
		}
	}
}

func (f *fakeBackend) Audit(service string, limit int) []audit.Record {
	if service == "panic" {
		panic("fake backend: audit exploded")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.auditCalls = append(f.auditCalls, fmt.Sprintf("%s/%d", service, limit))
	var sets [][]audit.Record
	sets = append(sets, f.records)
	return audit.Query(sets, service, limit)
}

func (f *fakeBackend) Webhook(_ context.Context, actor string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.webhooks = append(f.webhooks, actor)
}

// Diff answers a fixed change of api, with web and an object of the whole
// environment unchanged; a file naming "worker" also deletes worker's
// Deployment, one saying "invalid" is invalid.
func (f *fakeBackend) Diff(_ context.Context, req DiffRequest) (DiffAnswer, error) {
	if strings.Contains(req.File, "invalid") {
		return DiffAnswer{}, fmt.Errorf("%w: the file is invalid: environments.bitesize:3:7: environments[0].services[0].name: required", controller.ErrInvalid)
	}
	ans := DiffAnswer{Changes: []DiffChange{
		{Kind: "Deployment", Name: "api", Service: "api", Action: DiffUpdate, Diff: "@@ -1,1 +1,1 @@\n-image: api:1.0\n+image: api:1.1\n"},
		{Kind: "Deployment", Name: "web", Service: "web", Action: DiffUnchanged},
		{Kind: "ConfigMap", Name: "shared", Action: DiffUnchanged},
	}}
	if strings.Contains(req.File, "worker") {
		ans.Changes = append(ans.Changes, DiffChange{Kind: "Deployment", Name: "worker", Service: "worker", Action: DiffDelete})
	}
	return ans, nil
}

// testEnv is the API over a fake backend and a real Authenticator whose
// every log line, and the API's, lands in logs.
type testEnv struct {
	t       *testing.T
	h       http.Handler
	be      *fakeBackend
	logs    *testlog.Buffer
	secrets []string // must never appear in logs
}

type envOption func(*auth.Options, *Options)

func withRateLimit(n int) envOption {
	return func(a *auth.Options, _ *Options) { a.RateLimit = auth.RateLimit{Failures: n, Block: time.Minute} }
}

// withTrustedProxies trusts the proxies' X-Forwarded-For in the API and its
// limiter alike, as the operator wires them.
func withTrustedProxies(proxies ...netip.Prefix) envOption {
	return func(a *auth.Options, o *Options) { a.TrustedProxies, o.TrustedProxies = proxies, proxies }
}

func withWebhookSecret(s string) envOption {
	return func(_ *auth.Options, o *Options) { o.WebhookSecret = []byte(s) }
}

func withWebhookLimits(l WebhookLimits) envOption {
	return func(_ *auth.Options, o *Options) { o.WebhookLimits = l }
}

func newEnv(t *testing.T, opts ...envOption) *testEnv {
	t.Helper()
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "tokens")
	content := fmt.Sprintf("# test tokens\n%s viewer view\n%s ci-bot deploy\n%s root admin\n%s api-ci deploy api\n%s api-viewer view api,web\n",
		viewToken, deployToken, adminToken, apiToken, apiViewToken)
	if err := os.WriteFile(tokenFile, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	e := &testEnv{t: t, be: newFakeBackend(t), logs: &testlog.Buffer{},
		secrets: []string{viewToken, deployToken, adminToken, apiToken, apiViewToken, badToken, hookSecret}}
	log := slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	aopts := auth.Options{TokenFile: tokenFile, Log: log}
	o := Options{Backend: e.be, Log: log}
	for _, opt := range opts {
		opt(&aopts, &o)
	}
	a, err := auth.New(t.Context(), aopts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	o.Auth = a
	e.h = New(o)
	t.Cleanup(func() {
		logs := e.logs.String()
		for _, s := range e.secrets {
			if strings.Contains(logs, s) {
				t.Errorf("a secret (%.8s...) appears in the logs:\n%s", s, logs)
			}
		}
	})
	return e
}

// req builds a request from a fixed client address; a non-empty body is
// sent as JSON.
func req(method, path, token, body string) *http.Request {
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	r.RemoteAddr = "192.0.2.10:40000"
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	return r
}

func (e *testEnv) serve(r *http.Request) *httptest.ResponseRecorder {
	e.t.Helper()
	if v := r.Header.Get("Authorization"); v != "" {
		e.secrets = appendIfLong(e.secrets, strings.TrimSpace(strings.TrimPrefix(v, "Bearer ")))
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, r)
	return rec
}

func appendIfLong(list []string, s string) []string {
	if len(s) < 12 {
		return list // too short to search for without false alarms
	}
	return append(list, s)
}

func (e *testEnv) do(method, path, token, body string) *httptest.ResponseRecorder {
	e.t.Helper()
	return e.serve(req(method, path, token, body))
}

// wantError checks the status and that the body is exactly
// {"error": non-empty, "code": status} in JSON.
func wantError(t *testing.T, rec *httptest.ResponseRecorder, code int) string {
	t.Helper()
	if rec.Code != code {
		t.Fatalf("status %d, want %d; body %s", rec.Code, code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	var body map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("error body is not JSON: %v: %s", err, rec.Body)
	}
	msg, _ := body["error"].(string)
	if len(body) != 2 || msg == "" || body["code"] != float64(code) {
		t.Errorf("error body %s, want {\"error\": \"...\", \"code\": %d}", rec.Body, code)
	}
	return msg
}

// decodeBody decodes a 2xx JSON response into a map.
func decodeBody(t *testing.T, rec *httptest.ResponseRecorder, code int) map[string]any {
	t.Helper()
	if rec.Code != code {
		t.Fatalf("status %d, want %d; body %s", rec.Code, code, rec.Body)
	}
	var m map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
		t.Fatalf("body is not a JSON object: %v: %s", err, rec.Body)
	}
	return m
}

func readAll(t *testing.T, r io.Reader) string {
	t.Helper()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
