package clustertest

import (
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
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/object"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/envop/envop/internal/operator"
	"github.com/envop/envop/internal/testcluster"
	"github.com/envop/envop/internal/testlog"
)

const apiToken = "install-test-deploy-token"

const bitesize = `project: shop
environments:
  - name: dev
    namespace: %s
    services:
      - name: web
        version: "1.0.0"
        port: 8080
`

// TestInstalledOperatorSyncsAndDeploys applies what `envop install` prints,
// then runs the operator as its ServiceAccount and nothing more: a token
// from the TokenRequest API is its only credential. The Deployment is only
// validated (dry run): without a container runtime its pod would be faked,
// so the operator runs in this process instead, with the pod's settings.
func TestInstalledOperatorSyncsAndDeploys(t *testing.T) {
	c := testcluster.Get(t)
	ns := testcluster.Namespace(t)
	repo := gitRepo(t, fmt.Sprintf(bitesize, ns))
	objs := decode(t, envopInstall(t, "--namespace", ns, "--environment", "dev", "--git-repo", repo))
	apply(t, objs, "Deployment")

	// What the header asks for: the token Secret. The operator reads the
	// same content from a file, as the pod would from the mounted Secret.
	tokens := apiToken + " ci deploy\n"
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "envop-tokens"}, StringData: map[string]string{"tokens": tokens}}
	if _, err := c.Client.CoreV1().Secrets(ns).Create(t.Context(), secret, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	tokenFile := filepath.Join(t.TempDir(), "tokens")
	if err := os.WriteFile(tokenFile, []byte(tokens), 0o600); err != nil {
		t.Fatal(err)
	}
	// A pod of the Deployment's template stands for the operator's own pod,
	// so that reading it and recording Events on it use the Role too.
	pod := operatorPod(t, ns, find(t, objs, "Deployment"))
	t.Setenv("POD_NAME", pod)

	cfg, _ := testcluster.TokenClient(t, ns, "envop")
	op := startOperator(t, operator.Options{
		RestConfig: cfg, Namespace: ns, Environment: "dev", GitRepo: repo,
		AuthTokenFile: tokenFile, PollInterval: time.Hour, ResyncInterval: time.Hour,
		MetricsListen: "127.0.0.1:0", // the pod's METRICS_LISTEN, on a free port
	})
	op.eventually(90*time.Second, "web green at 1.0.0", func() (bool, string) {
		s := op.service("web")
		return s.Status == "green" && s.Version == "1.0.0", fmt.Sprint(s)
	})

	var d struct{ ID, Status, Reason, Message, Actor string }
	if code := op.call("POST", "/deploy", `{"name":"web","version":"1.1.0"}`, &d); code != http.StatusAccepted || d.ID == "" {
		t.Fatalf("POST /deploy = %d %+v", code, d)
	}
	if code := op.call("GET", "/deploys/"+d.ID+"?wait=60s", "", &d); code != http.StatusOK || d.Status != "succeeded" {
		t.Fatalf("deploy ended %d %+v\n%s", code, d, op.logs.String())
	}
	if d.Actor != "ci" {
		t.Errorf("actor = %q", d.Actor)
	}
	checkEvents(t, ns, pod)
	if l := op.logs.String(); strings.Contains(strings.ToLower(l), "forbidden") {
		t.Errorf("the operator was refused something it needs:\n%s", l)
	}
}

// operatorPod creates a pod from the Deployment's template (kwok fakes its
// running) and returns its name.
func operatorPod(t *testing.T, ns string, deployment *unstructured.Unstructured) string {
	t.Helper()
	pod := podOf(t, deployment)
	if _, err := testcluster.Get(t).Client.CoreV1().Pods(ns).Create(t.Context(), pod, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create the operator's pod: %v", err)
	}
	return pod.Name
}

// checkEvents waits for the operator's Synced Event on its pod.
func checkEvents(t *testing.T, ns, pod string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		list, err := testcluster.Get(t).Client.CoreV1().Events(ns).List(t.Context(), metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range list.Items {
			if e.InvolvedObject.Name == pod && e.Reason == "Synced" {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no Synced event on pod %s: %d events", pod, len(list.Items))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func gitRepo(t *testing.T, content string) string {
	t.Helper()
	dir := t.TempDir()
	r, err := git.PlainInit(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "environments.bitesize"), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	wt, err := r.Worktree()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := wt.Add("environments.bitesize"); err != nil {
		t.Fatal(err)
	}
	sig := &object.Signature{Name: "Dev", Email: "dev@example.com", When: time.Now()}
	if _, err := wt.Commit("environment", &git.CommitOptions{Author: sig}); err != nil {
		t.Fatal(err)
	}
	return dir
}

// running is an operator started by startOperator.
type running struct {
	t    *testing.T
	url  string
	logs *testlog.Buffer
}

func startOperator(t *testing.T, opts operator.Options) *running {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &running{t: t, url: "http://" + ln.Addr().String(), logs: &testlog.Buffer{}}
	opts.Listener = ln
	opts.Log = slog.New(slog.NewJSONHandler(r.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- operator.Run(ctx, opts) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("operator returned %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("operator did not stop within 30s")
		}
	})
	r.eventually(90*time.Second, "operator ready", func() (bool, string) {
		select {
		case err := <-done:
			t.Fatalf("operator stopped: %v\n%s", err, r.logs.String())
		default:
		}
		resp, err := http.Get(r.url + "/readyz")
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, resp.Status
	})
	return r
}

func (r *running) call(method, path, body string, out any) int {
	r.t.Helper()
	req, err := http.NewRequestWithContext(r.t.Context(), method, r.url+path, strings.NewReader(body))
	if err != nil {
		r.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+apiToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		r.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			r.t.Fatalf("%s %s: decode %q: %v", method, path, data, err)
		}
	}
	return resp.StatusCode
}

type serviceView struct{ Name, Version, Status, Reason, Message string }

func (r *running) service(name string) serviceView {
	var s serviceView
	r.call("GET", "/status/"+name, "", &s)
	return s
}

func (r *running) eventually(timeout time.Duration, what string, cond func() (bool, string)) {
	r.t.Helper()
	deadline := time.Now().Add(timeout)
	last := ""
	for time.Now().Before(deadline) {
		ok, why := cond()
		if ok {
			return
		}
		last = why
		time.Sleep(200 * time.Millisecond)
	}
	r.t.Fatalf("%s: not after %s (last: %s)\noperator log:\n%s", what, timeout, last, r.logs.String())
}
