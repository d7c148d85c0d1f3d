package cli

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/envop/envop/internal/client"
)

// barrier returns a function that blocks until n callers arrived, or
// fails the test after a while: it proves calls run at the same time.
func barrier(t *testing.T, n int) func() {
	var wg sync.WaitGroup
	wg.Add(n)
	all := make(chan struct{})
	go func() { wg.Wait(); close(all) }()
	return func() {
		wg.Done()
		select {
		case <-all:
		case <-time.After(5 * time.Second):
			t.Error("the environments were not queried in parallel")
		}
	}
}

func twoEnvironments(t *testing.T) (cfg string, staging, production *fakeAPI) {
	gate := barrier(t, 2)
	staging = newFakeAPI(t, "staging", func(f *fakeAPI) { f.statusGate = gate })
	production = newFakeAPI(t, "production", func(f *fakeAPI) {
		f.statusGate = gate
		f.env.Status = "red"
		f.env.Services[1] = client.Service{Name: "web", Version: "1.2.4", Status: "red", Reason: "CrashLoopBackOff",
			Replicas: client.Replicas{Desired: 3, Updated: 1, Ready: 2, Available: 2}}
	})
	cfg = writeConfig(t, `environments:
  staging: {endpoint: `+staging.URL()+`, token: `+testToken+`}
  production: {endpoint: `+production.URL()+`, token: `+testToken+`}
`)
	return cfg, staging, production
}

func TestStatusTableInParallel(t *testing.T) {
	cfg, _, _ := twoEnvironments(t)
	code, out, errOut := run(t, "status", "--env", "all", "--config", cfg)
	if code != ExitOK {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	want := [][]string{
		{"ENVIRONMENT", "SERVICE", "VERSION", "STATUS", "REASON", "REPLICAS", "UPDATED"},
		{"staging", "api", "2.0.0", "green", "-", "2/2", "2"},
		{"staging", "web", "1.2.3", "green", "-", "3/3", "3"},
		{"production", "api", "2.0.0", "green", "-", "2/2", "2"},
		{"production", "web", "1.2.4", "red", "CrashLoopBackOff", "2/3", "1"},
	}
	if len(lines) != len(want) {
		t.Fatalf("table:\n%s", out)
	}
	for i, w := range want {
		if got := strings.Fields(lines[i]); strings.Join(got, " ") != strings.Join(w, " ") {
			t.Errorf("row %d = %q, want %q", i, got, w)
		}
	}
}

// TestStatusService: with several environments, each entry holds that
// environment's GET /status/{service} answer, as with one environment.
func TestStatusService(t *testing.T) {
	cfg, staging, production := twoEnvironments(t)
	code, out, errOut := run(t, "status", "web", "--env", "staging,production", "--config", cfg, "-o", "json")
	if code != ExitOK {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	var results []struct {
		Environment string         `json:"environment"`
		Endpoint    string         `json:"endpoint"`
		Status      client.Service `json:"status"`
	}
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&results); err != nil {
		t.Fatalf("not a list of GET /status/{service} answers: %v\n%s", err, out)
	}
	if len(results) != 2 || results[0].Environment != "staging" || results[0].Status.Name != "web" ||
		results[0].Status.Version != "1.2.3" || results[1].Status.Reason != "CrashLoopBackOff" {
		t.Errorf("results = %+v", results)
	}
	for _, api := range []*fakeAPI{staging, production} {
		if !api.called("GET /status/web") {
			t.Errorf("calls %v, want GET /status/web", api.Calls())
		}
	}
}

// TestStatusUnknownService: a 404 prints nothing on stdout, and the error
// is prefixed with the endpoint's host or the environment's name, as the
// target was given.
func TestStatusUnknownService(t *testing.T) {
	api := newFakeAPI(t, "dev")
	host := strings.TrimPrefix(api.URL(), "http://")
	code, out, errOut := run(t, append([]string{"status", "nosuch"}, direct(api)...)...)
	if code != ExitUsage || out != "" || !strings.HasPrefix(errOut, "error: "+host+": ") || !strings.Contains(errOut, "404") {
		t.Errorf("--endpoint: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, out, errOut = run(t, append([]string{"status", "nosuch", "-o", "json"}, direct(api)...)...)
	if code != ExitUsage || out != "" || !strings.HasPrefix(errOut, "error: "+host+": ") {
		t.Errorf("--endpoint -o json: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	cfg := writeConfig(t, "environments:\n  staging: {endpoint: "+api.URL()+", token: "+testToken+"}\n")
	code, out, errOut = run(t, "status", "nosuch", "--env", "staging", "--config", cfg)
	if code != ExitUsage || out != "" || !strings.HasPrefix(errOut, "error: staging: ") {
		t.Errorf("--env: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	// Known in one environment only: that one is shown.
	other := newFakeAPI(t, "production", func(f *fakeAPI) { f.env.Services = f.env.Services[:1] })
	cfg = writeConfig(t, "environments:\n  staging: {endpoint: "+api.URL()+", token: "+testToken+"}\n"+
		"  production: {endpoint: "+other.URL()+", token: "+testToken+"}\n")
	code, out, errOut = run(t, "status", "web", "--env", "all", "--config", cfg)
	if code != ExitUsage || !strings.Contains(out, "staging ") || strings.Contains(out, "production") ||
		!strings.HasPrefix(errOut, "error: production: ") {
		t.Errorf("one environment without it: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
}

func TestStatusYAML(t *testing.T) {
	cfg, _, _ := twoEnvironments(t)
	code, out, _ := run(t, "status", "--env", "all", "--config", cfg, "-o", "yaml")
	if code != ExitOK {
		t.Fatalf("exit %d\n%s", code, out)
	}
	var results []struct {
		Environment string
		Status      client.Environment
	}
	if err := yaml.Unmarshal([]byte(out), &results); err != nil || len(results) != 2 || results[1].Status.Status != "red" {
		t.Errorf("results = %+v, %v\n%s", results, err, out)
	}
}

func TestStatusPartialFailure(t *testing.T) {
	api := newFakeAPI(t, "staging")
	cfg := writeConfig(t, `environments:
  staging: {endpoint: `+api.URL()+`, token: `+testToken+`}
  production: {endpoint: `+closedEndpoint(t)+`, token: `+testToken+`}
  dev: {endpoint: `+api.URL()+`, token: wrong}
`)
	code, out, errOut := run(t, "status", "--env", "all", "--config", cfg)
	if code != ExitUnreachable {
		t.Errorf("exit %d, want 3", code)
	}
	if !strings.Contains(out, "staging") || !strings.Contains(errOut, "production: endpoint") || !strings.Contains(errOut, "dev: GET /status: 401") {
		t.Errorf("stdout:\n%s\nstderr:\n%s", out, errOut)
	}
	noToken(t, out, errOut)

	if code, _, errOut := run(t, append([]string{"status", "nope"}, direct(api)...)...); code != ExitUsage || !strings.Contains(errOut, `unknown service "nope"`) {
		t.Errorf("unknown service: exit %d: %s", code, errOut)
	}
}

func TestLogs(t *testing.T) {
	api := newFakeAPI(t, "staging", func(f *fakeAPI) { f.pods = crashingPods })
	code, out, errOut := run(t, append([]string{"logs", "web", "--lines", "20"}, direct(api)...)...)
	if code != ExitOK || !strings.Contains(out, "pod web-5d8f-old: Running, ready") || !strings.Contains(out, "| panic: config key") {
		t.Errorf("exit %d\n%s%s", code, out, errOut)
	}
	if code, _, _ := run(t, append([]string{"logs", "web", "--lines", "0"}, direct(api)...)...); code != ExitUsage {
		t.Errorf("--lines 0: exit %d", code)
	}
	code, out, _ = run(t, append([]string{"logs", "web", "-o", "json"}, direct(api)...)...)
	var answer struct{ Pods []client.Pod } // GET /status/{service}/pods
	if err := json.Unmarshal([]byte(out), &answer); code != ExitOK || err != nil || len(answer.Pods) != 2 {
		t.Errorf("json: exit %d, %v\n%s", code, err, out)
	}
	missing := newFakeAPI(t, "staging", func(f *fakeAPI) { f.fail = 404 })
	if code, _, _ := run(t, append([]string{"logs", "nope"}, direct(missing)...)...); code != ExitUsage {
		t.Errorf("404: exit %d", code)
	}
}

func TestAudit(t *testing.T) {
	at := time.Date(2026, 5, 4, 3, 2, 1, 0, time.UTC)
	api := newFakeAPI(t, "staging", func(f *fakeAPI) {
		f.audit = []client.AuditRecord{{Time: at, Actor: "ci", Action: "deploy", Service: "web", Version: "1.2.4", Result: "accepted"}}
	})
	code, out, errOut := run(t, append([]string{"audit", "--service", "web", "--limit", "5"}, direct(api)...)...)
	if code != ExitOK || !strings.Contains(out, "2026-05-04T03:02:01Z") || !strings.Contains(out, "accepted") {
		t.Errorf("exit %d\n%s%s", code, out, errOut)
	}
	if !api.called("GET /audit") {
		t.Error("no GET /audit")
	}
	if code, _, _ := run(t, append([]string{"audit", "--limit", "0"}, direct(api)...)...); code != ExitUsage {
		t.Errorf("--limit 0: exit %d", code)
	}
	down := newFakeAPI(t, "staging", func(f *fakeAPI) { f.fail = 500 })
	if code, _, _ := run(t, append([]string{"audit"}, direct(down)...)...); code != ExitUnreachable {
		t.Errorf("500: exit %d", code)
	}
}

// TestSingleEnvironmentMachineOutput: with one environment, -o json prints
// the operator's answer as the API gives it, not a list of environments.
func TestSingleEnvironmentMachineOutput(t *testing.T) {
	api := newFakeAPI(t, "staging", func(f *fakeAPI) {
		f.audit = []client.AuditRecord{{Actor: "ci", Action: "deploy", Service: "web", Version: "1.2.4", Result: "accepted"}}
	})
	cfg := writeConfig(t, "environments:\n  staging: {endpoint: "+api.URL()+", token: "+testToken+"}\n")
	decode := func(args []string, v any) {
		t.Helper()
		code, out, errOut := run(t, append(args, "-o", "json")...)
		if code != ExitOK {
			t.Fatalf("%v: exit %d\n%s%s", args, code, out, errOut)
		}
		dec := json.NewDecoder(strings.NewReader(out))
		dec.DisallowUnknownFields()
		if err := dec.Decode(v); err != nil {
			t.Fatalf("%v: not the API's answer: %v\n%s", args, err, out)
		}
	}
	for _, target := range [][]string{direct(api), {"--env", "staging", "--config", cfg}} {
		var env client.Environment // GET /status
		decode(append([]string{"status"}, target...), &env)
		if env.Environment != "staging" || len(env.Services) == 0 {
			t.Errorf("status: %+v", env)
		}
		var svc client.Service // GET /status/{service}
		decode(append([]string{"status", "web"}, target...), &svc)
		if svc.Name != "web" {
			t.Errorf("status web: %+v", svc)
		}
		var records []client.AuditRecord // GET /audit
		decode(append([]string{"audit"}, target...), &records)
		if len(records) != 1 || records[0].Actor != "ci" {
			t.Errorf("audit: %+v", records)
		}
		var p client.Promotion // POST /promote
		decode(append([]string{"promote", "web"}, target...), &p)
		if p.Service != "web" || p.Active == "" {
			t.Errorf("promote: %+v", p)
		}
	}
}

// TestStatusSyncErrorLines: an invalid revision's errors, one a line, stay
// under their environment's line.
func TestStatusSyncErrorLines(t *testing.T) {
	api := newFakeAPI(t, "staging", func(f *fakeAPI) {
		f.env.Sync = client.Sync{Status: "error", Error: "revision 0123456789ab is invalid: 2 errors:\n" +
			"environments.bitesize:7:9: environments[0].services[0].replcas: unknown field\n" +
			"environments.bitesize:9:9: environments[0].services[1].replcas: unknown field"}
	})
	cfg := writeConfig(t, "environments:\n  staging: {endpoint: "+api.URL()+", token: "+testToken+"}\n")
	code, out, errOut := run(t, "status", "--env", "staging", "--config", cfg)
	if code != ExitOK {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	want := "staging: last sync error: revision 0123456789ab is invalid: 2 errors:\n" +
		"  environments.bitesize:7:9: environments[0].services[0].replcas: unknown field\n" +
		"  environments.bitesize:9:9: environments[0].services[1].replcas: unknown field\n"
	if !strings.HasSuffix(out, want) {
		t.Errorf("output:\n%s\nwant it to end with:\n%s", out, want)
	}
}

// partialEnvironments is a config file of three environments: down is
// unreachable, dev refuses the token and staging answers.
func partialEnvironments(t *testing.T) string {
	t.Helper()
	at := time.Date(2026, 5, 4, 3, 2, 1, 0, time.UTC)
	api := newFakeAPI(t, "staging", func(f *fakeAPI) {
		f.pods = crashingPods
		f.audit = []client.AuditRecord{{Time: at, Actor: "ci", Action: "deploy", Service: "web", Version: "1.2.4", Result: "accepted"}}
	})
	return writeConfig(t, `environments:
  down: {endpoint: `+closedEndpoint(t)+`, token: `+testToken+`}
  dev: {endpoint: `+api.URL()+`, token: wrong}
  staging: {endpoint: `+api.URL()+`, token: `+testToken+`}
`)
}

// multiEntry is an entry of -o json with several environments: the
// environment, and the answer under the command's key or an error.
type multiEntry struct {
	Environment string          `json:"environment"`
	Endpoint    string          `json:"endpoint"`
	Service     string          `json:"service"`
	Audit       json.RawMessage `json:"audit"`
	Pods        json.RawMessage `json:"pods"`
	Error       string          `json:"error"`
}

// TestAuditAndLogsPartialFailure: an environment that cannot be asked is
// reported while the others are still shown, as status does; the exit
// code is the worst failure's.
func TestAuditAndLogsPartialFailure(t *testing.T) {
	cfg := partialEnvironments(t)
	for _, cmd := range [][]string{{"audit"}, {"logs", "web"}} {
		code, out, errOut := run(t, append(cmd, "--env", "all", "--config", cfg)...)
		if code != ExitUnreachable {
			t.Errorf("%v: exit %d, want 3", cmd, code)
		}
		if !strings.Contains(out, "staging") || strings.Contains(out, "down") || strings.Contains(out, "dev") {
			t.Errorf("%v: stdout:\n%s", cmd, out)
		}
		if !strings.Contains(errOut, "error: down: ") || !strings.Contains(errOut, "error: dev: ") || !strings.Contains(errOut, "401") {
			t.Errorf("%v: stderr:\n%s", cmd, errOut)
		}
		noToken(t, out, errOut)

		code, out, _ = run(t, append(cmd, "--env", "down,dev,staging", "--config", cfg, "-o", "json")...)
		var entries []multiEntry
		dec := json.NewDecoder(strings.NewReader(out))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&entries); code != ExitUnreachable || err != nil || len(entries) != 3 {
			t.Fatalf("%v -o json: exit %d, %v\n%s", cmd, code, err, out)
		}
		answer := entries[2].Audit
		if cmd[0] == "logs" {
			answer = entries[2].Pods
		}
		if entries[0].Environment != "down" || entries[0].Error == "" || entries[0].Audit != nil || entries[0].Pods != nil ||
			entries[1].Environment != "dev" || !strings.Contains(entries[1].Error, "401") ||
			entries[2].Environment != "staging" || entries[2].Error != "" || len(answer) < 10 {
			t.Errorf("%v -o json:\n%s", cmd, out)
		}
	}
	// A refusal alone: exit 2.
	code, _, _ := run(t, "audit", "--env", "dev,staging", "--config", cfg)
	if code != ExitUsage {
		t.Errorf("refused: exit %d, want 2", code)
	}
}
