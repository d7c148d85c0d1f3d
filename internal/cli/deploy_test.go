package cli

import (
	"encoding/json"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/envop/envop/internal/client"
)

func TestDeployWithoutWaitPrintsID(t *testing.T) {
	api := newFakeAPI(t, "staging")
	code, out, errOut := run(t, append([]string{"deploy", "web", "1.2.4"}, direct(api)...)...)
	if code != ExitOK || out != "d-web\n" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if api.called("GET /deploys/d-web") {
		t.Error("waited without --wait")
	}
}

func TestDeployWaitSucceeds(t *testing.T) {
	api := newFakeAPI(t, "staging", func(f *fakeAPI) {
		f.pending = 1
		f.env.Services[1].Version = "1.2.4" // applied: its replicas are the new version's
	})
	code, out, errOut := run(t, append([]string{"deploy", "web", "1.2.4", "--wait", "--timeout", "1m"}, direct(api)...)...)
	if code != ExitOK {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	for _, want := range []string{"started (d-web)", "web 1.2.4 deploy succeeded", "updated 3/3, ready 3/3"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestDeployWaitFailedShowsReasonAndLogs(t *testing.T) {
	api := newFakeAPI(t, "staging", func(f *fakeAPI) { f.outcome, f.pods = client.StatusFailed, crashingPods })
	code, out, errOut := run(t, append([]string{"deploy", "web", "1.2.4", "--wait"}, direct(api)...)...)
	if code != ExitFailed {
		t.Fatalf("exit %d, want 1\n%s%s", code, out, errOut)
	}
	for _, want := range []string{
		"FAILED: CrashLoopBackOff: back-off 40s restarting failed container web",
		"pod web-7c9a-new: Running, not ready, 4 restarts, CrashLoopBackOff",
		"| panic: config key DATABASE_URL missing",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "web-5d8f-old") {
		t.Errorf("a healthy pod is shown as failing:\n%s", out)
	}
	if !strings.Contains(errOut, "failed: CrashLoopBackOff") {
		t.Errorf("stderr lacks the failure: %q", errOut)
	}
}

func TestDeployExitCodes(t *testing.T) {
	failing := func(code int) []string {
		api := newFakeAPI(t, "staging", func(f *fakeAPI) { f.fail = code })
		return direct(api)
	}
	ok := newFakeAPI(t, "staging")
	never := newFakeAPI(t, "staging", func(f *fakeAPI) { f.outcome = "" })
	for name, tc := range map[string]struct {
		args []string
		want int
	}{
		"wrong token":        {[]string{"--endpoint", ok.URL(), "--token", "wrong"}, ExitUsage},
		"403":                {failing(403), ExitUsage},
		"404":                {failing(404), ExitUsage},
		"409":                {failing(409), ExitUsage},
		"422":                {failing(422), ExitUsage},
		"500":                {failing(500), ExitUnreachable},
		"503":                {failing(503), ExitUnreachable},
		"closed port":        {[]string{"--endpoint", closedEndpoint(t), "--token", testToken}, ExitUnreachable},
		"wait timeout":       {append(direct(never), "--timeout", "1500ms"), ExitTimeout},
		"no endpoint":        {[]string{"--token", testToken}, ExitUsage},
		"no token":           {[]string{"--endpoint", ok.URL()}, ExitUsage},
		"bad endpoint":       {[]string{"--endpoint", "deploy.example.com", "--token", testToken}, ExitUsage},
		"bad output":         {append(direct(ok), "-o", "xml"), ExitUsage},
		"zero timeout":       {append(direct(ok), "--timeout", "0s"), ExitUsage},
		"unknown flag":       {append(direct(ok), "--frobnicate"), ExitUsage},
		"env with endpoint":  {append(direct(ok), "--env", "staging"), ExitUsage},
		"missing config":     {[]string{"--env", "staging", "--config", "/nonexistent/envop.yaml"}, ExitUsage},
		"token and tokenfil": {append(direct(ok), "--token-file", "/dev/null"), ExitUsage},
	} {
		t.Run(name, func(t *testing.T) {
			args := append([]string{"deploy", "web", "1.2.4", "--wait"}, tc.args...)
			code, out, errOut := run(t, args...)
			if code != tc.want {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.want, out, errOut)
			}
			noToken(t, out, errOut)
		})
	}
	for name, args := range map[string][]string{
		"no args":    {"deploy"},
		"one arg":    {"deploy", "web"},
		"three args": {"deploy", "web", "1", "2"},
		"empty arg":  {"deploy", "web", ""},
	} {
		if code, _, _ := run(t, append(args, direct(ok)...)...); code != ExitUsage {
			t.Errorf("%s: exit %d, want 2", name, code)
		}
	}
}

func TestDeployTimeoutShowsPods(t *testing.T) {
	api := newFakeAPI(t, "staging", func(f *fakeAPI) {
		f.outcome = ""
		f.pods = []client.Pod{{Name: "web-slow", Phase: "Running", Logs: "warming caches\n"}}
	})
	code, out, _ := run(t, append([]string{"deploy", "web", "1.2.4", "--wait", "--timeout", "1s"}, direct(api)...)...)
	if code != ExitTimeout {
		t.Fatalf("exit %d, want 70\n%s", code, out)
	}
	if !strings.Contains(out, "did not finish within 1s") || !strings.Contains(out, "| warming caches") {
		t.Errorf("output:\n%s", out)
	}
}

func TestDeployEnvironmentsInOrder(t *testing.T) {
	staging := newFakeAPI(t, "staging", func(f *fakeAPI) { f.outcome, f.pods = client.StatusFailed, crashingPods })
	production := newFakeAPI(t, "production")
	t.Setenv("STAGING_TOKEN", testToken)
	cfg := writeConfig(t, `environments:
  staging: {endpoint: `+staging.URL()+`, token_env: STAGING_TOKEN}
  production: {endpoint: `+production.URL()+`, token: `+testToken+`}
`)
	code, out, errOut := run(t, "deploy", "web", "1.2.4", "--wait", "--env", "staging,production", "--config", cfg)
	if code != ExitFailed {
		t.Fatalf("exit %d, want 1\n%s%s", code, out, errOut)
	}
	if calls := production.Calls(); len(calls) != 0 {
		t.Errorf("production was called after staging failed: %v", calls)
	}
	if !strings.Contains(out, "stopped: production left untouched") {
		t.Errorf("output:\n%s", out)
	}
	noToken(t, out, errOut)

	// Both succeed: deployed in the order given.
	staging2 := newFakeAPI(t, "staging")
	cfg = writeConfig(t, `environments:
  staging: {endpoint: `+staging2.URL()+`, token_env: STAGING_TOKEN}
  production: {endpoint: `+production.URL()+`, token: `+testToken+`}
`)
	code, out, _ = run(t, "deploy", "web", "1.2.4", "--wait", "--env", "staging,production", "--config", cfg, "-o", "json")
	if code != ExitOK {
		t.Fatalf("exit %d\n%s", code, out)
	}
	var results []deployResult
	if err := json.Unmarshal([]byte(out), &results); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, out)
	}
	if len(results) != 2 || results[0].Environment != "staging" || results[1].Environment != "production" ||
		results[1].Deploy.Status != client.StatusSucceeded {
		t.Errorf("results = %+v", results)
	}
}

func TestDeployEnvAllRefused(t *testing.T) {
	api := newFakeAPI(t, "staging")
	cfg := writeConfig(t, "environments:\n  staging: {endpoint: "+api.URL()+", token: x}\n")
	if code, _, errOut := run(t, "deploy", "web", "1", "--env", "all", "--config", cfg); code != ExitUsage || !strings.Contains(errOut, "--env all") {
		t.Errorf("exit %d: %s", code, errOut)
	}
	if len(api.Calls()) != 0 {
		t.Error("the operator was called")
	}
}

func TestDeployFailedYAML(t *testing.T) {
	api := newFakeAPI(t, "staging", func(f *fakeAPI) { f.outcome, f.pods = client.StatusFailed, crashingPods })
	code, out, errOut := run(t, append([]string{"deploy", "web", "1.2.4", "--wait", "-o", "yaml"}, direct(api)...)...)
	if code != ExitFailed {
		t.Fatalf("exit %d", code)
	}
	// One environment: the deploy itself, as the API gives it, and its pods.
	var got struct {
		client.Deploy
		Pods []client.Pod `json:"pods"`
	}
	if err := yaml.UnmarshalStrict([]byte(out), &got); err != nil {
		t.Fatalf("stdout is not the YAML expected: %v\n%s", err, out)
	}
	if got.Status != client.StatusFailed || got.Reason != "CrashLoopBackOff" || len(got.Pods) != 1 {
		t.Errorf("got %+v", got)
	}
	if !strings.Contains(errOut, "panic: config key") {
		t.Errorf("people's report not on stderr: %s", errOut)
	}
}

func TestRollbackAndPromote(t *testing.T) {
	api := newFakeAPI(t, "staging")
	code, out, errOut := run(t, append([]string{"rollback", "web", "--wait"}, direct(api)...)...)
	if code != ExitOK || !api.called("POST /rollback") || !strings.Contains(out, "rollback succeeded") {
		t.Errorf("rollback: exit %d\n%s%s", code, out, errOut)
	}
	code, out, _ = run(t, append([]string{"promote", "web"}, direct(api)...)...)
	if code != ExitOK || !strings.Contains(out, "web now serves green") {
		t.Errorf("promote: exit %d\n%s", code, out)
	}
	refused := newFakeAPI(t, "staging", func(f *fakeAPI) { f.fail = 409 })
	if code, _, errOut := run(t, append([]string{"promote", "web"}, direct(refused)...)...); code != ExitUsage || !strings.Contains(errOut, "refused with 409") {
		t.Errorf("promote refused: exit %d: %s", code, errOut)
	}
}

func TestDeployWaitToleratesARestartingOperator(t *testing.T) {
	api := newFakeAPI(t, "staging", func(f *fakeAPI) { f.flaky = 1 })
	code, out, errOut := run(t, append([]string{"deploy", "web", "1.2.4", "--wait"}, direct(api)...)...)
	if code != ExitOK {
		t.Errorf("exit %d\n%s%s", code, out, errOut)
	}
	down := newFakeAPI(t, "staging", func(f *fakeAPI) { f.flaky = 1000 })
	code, _, errOut = run(t, append([]string{"deploy", "web", "1.2.4", "--wait", "--timeout", "1s"}, direct(down)...)...)
	if code != ExitUnreachable || !strings.Contains(errOut, "503") {
		t.Errorf("an operator down for good: exit %d: %s", code, errOut)
	}
}

// TestDeployApplicationHelp: --application is a check against the
// manifest's application, not another image (the API answers 422 then).
func TestDeployApplicationHelp(t *testing.T) {
	code, out, _ := run(t, "deploy", "--help")
	if code != ExitOK {
		t.Fatalf("exit %d", code)
	}
	var help string
	for line := range strings.SplitSeq(out, "\n") {
		if strings.Contains(line, "--application") {
			help = line
		}
	}
	if strings.Contains(help, "image") || !strings.Contains(help, "manifest") || !strings.Contains(help, "422") {
		t.Errorf("--application help: %q", help)
	}
}

// TestDeployProgressBeforeTheVersionIsApplied: the replicas of the
// previous rollout are not shown as the deploy's progress.
func TestDeployProgressBeforeTheVersionIsApplied(t *testing.T) {
	for name, tc := range map[string]struct {
		svc  client.Service
		want string
	}{
		"not yet accepted": {
			client.Service{Name: "web", Version: "1.2.3", Status: "green", Replicas: client.Replicas{Desired: 3, Updated: 3, Ready: 3, Available: 3}},
			": web 1.2.4: waiting for version 1.2.4 to be applied (the service is at 1.2.3)",
		},
		"not yet applied": {
			client.Service{Name: "web", Version: "1.2.4", Status: "orange", Reason: "Pending", Message: "rolling out version 1.2.4",
				Replicas: client.Replicas{Desired: 2, Updated: 2, Ready: 2, Available: 2}},
			": web 1.2.4: orange (Pending), waiting for version 1.2.4 to be applied",
		},
	} {
		t.Run(name, func(t *testing.T) {
			api := newFakeAPI(t, "staging", func(f *fakeAPI) { f.pending, f.env.Services[1] = 1, tc.svc })
			code, out, errOut := run(t, append([]string{"deploy", "web", "1.2.4", "--wait"}, direct(api)...)...)
			if code != ExitOK {
				t.Fatalf("exit %d\n%s%s", code, out, errOut)
			}
			if !strings.Contains(out, tc.want) || strings.Contains(out, "updated") {
				t.Errorf("output:\n%s\nwant %q and no replica counts", out, tc.want)
			}
		})
	}
	applied := client.Service{Name: "web", Version: "1.2.4", Status: "orange", Reason: "Progressing",
		Replicas: client.Replicas{Desired: 3, Updated: 1, Ready: 2, Available: 2}}
	want := "staging: web 1.2.4: orange (Progressing), updated 1/3, ready 2/3, available 2/3"
	if got := progressLine("staging", "web", "1.2.4", applied, nil); got != want {
		t.Errorf("applied: %q, want %q", got, want)
	}
}
