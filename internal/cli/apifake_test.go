package cli

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/envop/envop/internal/client"
)

const testToken = "tok-4f1c9e-secret"

// fakeAPI serves the operator's API routes with canned answers and
// records the calls it received.
type fakeAPI struct {
	t   *testing.T
	srv *httptest.Server

	// fail answers every authenticated request with this status when set.
	fail int
	// outcome is the deploy's end: succeeded, failed, or "" for never.
	outcome string
	// pending is how many polls answer "deploying" before the outcome.
	pending int
	// flaky is how many polls answer 503 first, as a restarting operator.
	flaky int
	env   client.Environment
	pods  []client.Pod
	audit []client.AuditRecord
	// statusGate, when set, is waited on before GET /status answers.
	statusGate func()

	mu    sync.Mutex
	calls []string
}

// newFakeAPI starts a fake operator of environment name; set changes its
// answers before it starts serving.
func newFakeAPI(t *testing.T, name string, set ...func(*fakeAPI)) *fakeAPI {
	t.Helper()
	f := &fakeAPI{t: t, outcome: client.StatusSucceeded, env: client.Environment{
		Environment: name, Namespace: "shop-" + name, Status: "green",
		Services: []client.Service{
			{Name: "api", Version: "2.0.0", Status: "green", Replicas: client.Replicas{Desired: 2, Updated: 2, Ready: 2, Available: 2}},
			{Name: "web", Version: "1.2.3", Status: "green", Replicas: client.Replicas{Desired: 3, Updated: 3, Ready: 3, Available: 3}},
		},
	}}
	for _, fn := range set {
		fn(f)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /deploy", f.deploy)
	mux.HandleFunc("POST /rollback", f.deploy)
	mux.HandleFunc("GET /deploys/{id}", f.getDeploy)
	mux.HandleFunc("GET /status", f.status)
	mux.HandleFunc("GET /status/{service}", f.serviceStatus)
	mux.HandleFunc("GET /status/{service}/pods", f.podsOf)
	mux.HandleFunc("POST /promote", func(w http.ResponseWriter, r *http.Request) {
		writeTestJSON(w, http.StatusOK, client.Promotion{Service: "web", Active: "green"})
	})
	mux.HandleFunc("GET /audit", func(w http.ResponseWriter, r *http.Request) {
		writeTestJSON(w, http.StatusOK, f.audit)
	})
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.calls = append(f.calls, r.Method+" "+r.URL.Path)
		f.mu.Unlock()
		if r.Header.Get("Authorization") != "Bearer "+testToken {
			writeTestJSON(w, http.StatusUnauthorized, map[string]any{"error": "missing or invalid bearer token", "code": 401})
			return
		}
		if f.fail != 0 {
			writeTestJSON(w, f.fail, map[string]any{"error": fmt.Sprintf("refused with %d", f.fail), "code": f.fail})
			return
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAPI) URL() string { return f.srv.URL }

func (f *fakeAPI) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

func (f *fakeAPI) called(call string) bool {
	for _, c := range f.Calls() {
		if c == call {
			return true
		}
	}
	return false
}

func (f *fakeAPI) deploy(w http.ResponseWriter, r *http.Request) {
	var body struct{ Name, Version, Application string }
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		writeTestJSON(w, http.StatusBadRequest, map[string]any{"error": err.Error(), "code": 400})
		return
	}
	if body.Version == "" {
		body.Version = "1.0.0" // a rollback's default
	}
	writeTestJSON(w, http.StatusAccepted, client.Deploy{ID: "d-" + body.Name, Service: body.Name, Version: body.Version, Status: client.StatusDeploying})
}

func (f *fakeAPI) getDeploy(w http.ResponseWriter, r *http.Request) {
	d := client.Deploy{ID: r.PathValue("id"), Service: "web", Version: "1.2.4", Status: f.outcome}
	f.mu.Lock()
	flaky, pending := f.flaky > 0, f.pending > 0
	if flaky {
		f.flaky--
	} else {
		f.pending--
	}
	f.mu.Unlock()
	if flaky {
		writeTestJSON(w, http.StatusServiceUnavailable, map[string]any{"error": "not ready", "code": 503})
		return
	}
	if pending {
		time.Sleep(300 * time.Millisecond)
		d.Status = client.StatusDeploying
		writeTestJSON(w, http.StatusOK, d)
		return
	}
	switch f.outcome {
	case client.StatusFailed:
		d.Reason, d.Message = "CrashLoopBackOff", "back-off 40s restarting failed container web"
	case "":
		wait, _ := time.ParseDuration(r.URL.Query().Get("wait"))
		select {
		case <-time.After(wait):
		case <-r.Context().Done():
		}
		d.Status = client.StatusDeploying
	}
	writeTestJSON(w, http.StatusOK, d)
}

func (f *fakeAPI) status(w http.ResponseWriter, r *http.Request) {
	if f.statusGate != nil {
		f.statusGate()
	}
	writeTestJSON(w, http.StatusOK, f.env)
}

func (f *fakeAPI) serviceStatus(w http.ResponseWriter, r *http.Request) {
	for _, s := range f.env.Services {
		if s.Name == r.PathValue("service") {
			writeTestJSON(w, http.StatusOK, s)
			return
		}
	}
	writeTestJSON(w, http.StatusNotFound, map[string]any{"error": fmt.Sprintf("unknown service %q", r.PathValue("service")), "code": 404})
}

func (f *fakeAPI) podsOf(w http.ResponseWriter, r *http.Request) {
	pods := f.pods
	if pods == nil {
		pods = []client.Pod{}
	}
	writeTestJSON(w, http.StatusOK, map[string]any{"pods": pods})
}

func writeTestJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// crashingPods is what a crash-looping deploy leaves.
var crashingPods = []client.Pod{
	{Name: "web-5d8f-old", Phase: "Running", Ready: true, Logs: "serving\n"},
	{Name: "web-7c9a-new", Phase: "Running", Restarts: 4, Reason: "CrashLoopBackOff",
		Logs: "starting web 1.2.4\npanic: config key DATABASE_URL missing\n"},
}

// direct returns the flags that point a command at one fake operator.
func direct(f *fakeAPI) []string {
	return []string{"--endpoint", f.URL(), "--token", testToken}
}

// writeConfig writes a client config file and returns its path.
func writeConfig(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// closedEndpoint is a loopback URL nobody listens on.
func closedEndpoint(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return "http://" + addr
}

func noToken(t *testing.T, outputs ...string) {
	t.Helper()
	for _, o := range outputs {
		if strings.Contains(o, testToken) {
			t.Errorf("the token appears in the output:\n%s", o)
		}
	}
}
