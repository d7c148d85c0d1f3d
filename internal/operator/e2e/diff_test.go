package e2e

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/envop/envop/internal/api"
	"github.com/envop/envop/internal/cli"
	"github.com/envop/envop/internal/operator"
)

const diffManifest = `project: shop
environments:
  - name: e2e
    namespace: NS
    services:
      - name: web
        version: "WEB"
        port: 8080
WORKER`

const diffWorker = `      - name: worker
        version: "1.0"
`

// webViewToken may view web only.
const webViewToken = "e2e-web-view-token"

func diffFile(ns, web string, worker bool) string {
	w := ""
	if worker {
		w = diffWorker
	}
	return strings.NewReplacer("NS", ns, "WEB", web, "WORKER", w).Replace(diffManifest)
}

// TestDiffEndpoint: POST /diff answers what a sync of a file would change,
// by the operator's plan (a version deployed through the API stays while
// the file leaves it alone) and its inventory (a removed service is a
// delete); a scoped token sees its services only. envop diff --endpoint
// prints it with diff's exit codes.
func TestDiffEndpoint(t *testing.T) {
	t.Parallel()
	e := newEnvWith(t, diffFile("NS", "1.0", true), func(o *operator.Options) {
		tokens := filepath.Join(t.TempDir(), "tokens")
		content := token + " ci deploy\n" + webViewToken + " web-viewer view web\n"
		if err := os.WriteFile(tokens, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		o.AuthTokenFile = tokens
	})
	e.eventually(60*time.Second, "synced", func() (bool, string) {
		s := e.status()
		return s.Revision != "" && s.Sync.Status == "synced", s.Sync.Status + " " + s.Sync.Error
	})
	diff := func(tok, file string) (int, api.DiffAnswer) {
		t.Helper()
		var ans api.DiffAnswer
		code := e.callAs(tok, "POST", "/diff", api.DiffRequest{File: file}, &ans)
		return code, ans
	}
	actions := func(ans api.DiffAnswer) map[string]api.DiffChange {
		out := map[string]api.DiffChange{}
		for _, c := range ans.Changes {
			out[c.Kind+"/"+c.Name] = c
		}
		return out
	}

	if d := e.deploy("web", "1.5"); d.Status != "succeeded" {
		t.Fatalf("deploy web 1.5: %+v", d)
	}
	code, ans := diff(token, diffFile(e.ns, "1.0", true))
	if code != 200 || len(ans.Failed) > 0 {
		t.Fatalf("unchanged file: %d %+v", code, ans)
	}
	for key, c := range actions(ans) {
		if c.Action != api.DiffUnchanged {
			t.Errorf("unchanged file (web deployed at 1.5 since): %s is %s\n%s", key, c.Action, c.Diff)
		}
	}
	if _, ok := actions(ans)["Deployment/web"]; !ok {
		t.Errorf("unchanged file: no Deployment web in %+v", ans.Changes)
	}

	code, ans = diff(token, diffFile(e.ns, "2.0", false))
	if code != 200 {
		t.Fatalf("changed file: %d %+v", code, ans)
	}
	got := actions(ans)
	if web := got["Deployment/web"]; web.Action != api.DiffUpdate || !strings.Contains(web.Diff, "+      - image: web:2.0") || !strings.Contains(web.Diff, "-      - image: web:1.5") {
		t.Errorf("changed file: Deployment web %s, want update from 1.5 to 2.0:\n%s", web.Action, web.Diff)
	}
	if got["Deployment/worker"].Action != api.DiffDelete {
		t.Errorf("removed service: Deployment worker %q, want delete", got["Deployment/worker"].Action)
	}
	if s := e.service("web"); s.Version != "1.5" {
		t.Errorf("a diff changed web's version to %s", s.Version)
	}

	code, ans = diff(webViewToken, diffFile(e.ns, "2.0", true))
	if code != 200 {
		t.Fatalf("scoped token: %d %+v", code, ans)
	}
	for _, c := range ans.Changes {
		if c.Service != "web" {
			t.Errorf("scoped token sees %s %s of service %q", c.Kind, c.Name, c.Service)
		}
	}
	if actions(ans)["Deployment/web"].Action != api.DiffUpdate {
		t.Errorf("scoped token: no update of Deployment web in %+v", ans.Changes)
	}
	if code, ans := diff(webViewToken, diffFile(e.ns, "2.0", false)); code != 403 {
		t.Errorf("scoped token, worker removed: %d %+v, want 403", code, ans)
	}
	var fail struct{ Error string }
	if code := e.callAs(token, "POST", "/diff", api.DiffRequest{File: "project: shop\nenvironments:\n  - name: e2e\n    services:\n      - nme: web\n"}, &fail); code != 422 || !strings.Contains(fail.Error, "environments.bitesize:5:") {
		t.Errorf("invalid file: %d %q, want 422 with file:line:column", code, fail.Error)
	}

	dir := t.TempDir()
	run := func(web string, worker bool, extra ...string) (int, string) {
		t.Helper()
		file := filepath.Join(dir, "environments.bitesize")
		if err := os.WriteFile(file, []byte(diffFile(e.ns, web, worker)), 0o644); err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		args := append([]string{"diff", "-f", file, "--env", "e2e", "--endpoint", e.url, "--token", token}, extra...)
		code := cli.Run(t.Context(), cli.Streams{In: strings.NewReader(""), Out: &out, Err: &out}, args)
		return code, out.String()
	}
	if code, out := run("1.0", true); code != 0 || !strings.Contains(out, "0 to create, 0 to change, 0 to prune") {
		t.Errorf("envop diff --endpoint, unchanged: exit %d, want 0\n%s", code, out)
	}
	code, out := run("2.0", false)
	for _, want := range []string{"~ configured Deployment web", "+      - image: web:2.0", "- pruned Deployment worker"} {
		if code != 1 || !strings.Contains(out, want) {
			t.Errorf("envop diff --endpoint, changed: exit %d, want 1 and %q\n%s", code, want, out)
		}
	}
	if code, out := run("1.0", true, "--registry", "r.example.com"); code != 2 {
		t.Errorf("a render flag with --endpoint: exit %d, want 2\n%s", code, out)
	}
	if code, out := run("1.0", true, "--request-timeout", "1m"); code != 0 {
		t.Errorf("--request-timeout: exit %d, want 0\n%s", code, out)
	}
	var out2 bytes.Buffer
	args := []string{"diff", "-f", filepath.Join(dir, "environments.bitesize"), "--env", "e2e", "--endpoint", "http://" + closedPort(t), "--token", token}
	if code := cli.Run(t.Context(), cli.Streams{In: strings.NewReader(""), Out: &out2, Err: &out2}, args); code != 3 {
		t.Errorf("closed port: exit %d, want 3\n%s", code, out2.String())
	}
}
