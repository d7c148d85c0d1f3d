package e2e

import (
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/envop/envop/internal/testcluster"
)

const basic = `project: shop
environments:
  - name: e2e
    namespace: NS
    services:
      - name: web
        version: "1.0.0"
        port: 8080
        replicas: 2
      - name: worker
        version: "1.0.0"
        ports: []
`

func TestDeployLifecycle(t *testing.T) {
	t.Parallel()
	e := newEnv(t, basic)
	e.eventually(60*time.Second, "web green at 1.0.0", func() (bool, string) {
		s := e.service("web")
		return s.Status == "green" && s.Version == "1.0.0", s.Status + " " + s.Version
	})
	d := e.deploy("web", "1.1.0")
	if d.Status != "succeeded" || d.Actor != "ci" {
		t.Fatalf("deploy ended %+v", d)
	}
	s := e.service("web")
	if s.Status != "green" || s.Version != "1.1.0" || s.Replicas.Available != 2 || s.Replicas.Updated != 2 {
		t.Fatalf("after deploy: %+v", s)
	}
	dep, err := testcluster.Get(t).Client.AppsV1().Deployments(e.ns).Get(t.Context(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if img := dep.Spec.Template.Spec.Containers[0].Image; !strings.HasSuffix(img, ":1.1.0") {
		t.Fatalf("image = %s", img)
	}
	var records []struct{ Actor, Action, Service, Version, Result string }
	e.call("GET", "/audit?service=web", nil, &records)
	if len(records) < 2 || records[0].Action != "deploy" || records[0].Actor != "ci" || records[0].Version != "1.1.0" ||
		records[0].Result != "success" || records[1].Result != "accepted" || records[1].Version != "1.1.0" {
		t.Fatalf("audit = %+v, want the deploy accepted, then succeeded", records)
	}
}

func TestDeployFailuresReportReason(t *testing.T) {
	t.Parallel()
	e := newEnv(t, basic)
	for _, c := range []struct{ version, reasons string }{
		{"2.0.0-crashloop", "CrashLoopBackOff"},
		{"2.0.0-badimage", "ImagePullBackOff ErrImagePull"},
		{"2.0.0-oomkill", "OOMKilled"},
	} {
		d := e.deploy("worker", c.version)
		if d.Status != "failed" || !strings.Contains(c.reasons, d.Reason) || d.Reason == "" {
			t.Fatalf("deploy %s ended %+v, want failed with %s", c.version, d, c.reasons)
		}
		s := e.service("worker")
		if s.Status != "red" || s.Version != c.version || s.Reason == "" {
			t.Fatalf("status after %s: %+v", c.version, s)
		}
		// The audit says how the deploy ended, not only that it was accepted.
		var records []struct{ Actor, Action, Version, Result, Message string }
		e.call("GET", "/audit?service=worker&limit=1", nil, &records)
		if len(records) != 1 || records[0].Result != "failed" || records[0].Version != c.version ||
			records[0].Actor != "ci" || !strings.Contains(records[0].Message, d.Reason) {
			t.Errorf("newest audit record after %s: %+v", c.version, records)
		}
	}
	var pods struct {
		Pods []struct {
			Name, Reason, Logs string
			Restarts           int32
		}
	}
	if code := e.call("GET", "/status/worker/pods", nil, &pods); code != 200 || len(pods.Pods) == 0 {
		t.Fatalf("pods = %d %+v", code, pods)
	}
	// Back to a good version: the service recovers.
	if d := e.deploy("worker", "2.0.1"); d.Status != "succeeded" {
		t.Fatalf("recovery deploy %+v", d)
	}
}

func TestCrashLoopPodsShowLogs(t *testing.T) {
	t.Parallel()
	e := newEnv(t, basic)
	d := e.deploy("worker", "3.0.0-crashloop")
	if d.Status != "failed" {
		t.Fatalf("deploy %+v", d)
	}
	var pods struct {
		Pods []struct{ Name, Reason, Logs string }
	}
	e.call("GET", "/status/worker/pods?lines=5", nil, &pods)
	found := false
	for _, p := range pods.Pods {
		if p.Reason == "CrashLoopBackOff" && strings.Contains(p.Logs, "simulated crash") {
			found = true
		}
	}
	if !found {
		t.Fatalf("no crash-looping pod with its crash log: %+v", pods)
	}
}

func TestConcurrentDeploysLastWins(t *testing.T) {
	t.Parallel()
	e := newEnv(t, basic)
	const n = 6
	ids := make([]string, n)
	var wg sync.WaitGroup
	var mu sync.Mutex
	order := []string{}
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var d deployView
			if code := e.call("POST", "/deploy", map[string]string{"name": "worker", "version": "4.0." + string(rune('0'+i))}, &d); code != 202 {
				t.Errorf("deploy %d = %d", i, code)
				return
			}
			mu.Lock()
			ids[i] = d.ID
			order = append(order, d.ID)
			mu.Unlock()
		}()
	}
	wg.Wait()
	mu.Lock()
	last := order[len(order)-1]
	mu.Unlock()
	succeeded := 0
	for _, id := range ids {
		d := e.wait(id, 90*time.Second)
		switch {
		case d.Status == "succeeded":
			succeeded++
			if id != last {
				t.Errorf("deploy %s succeeded but %s was accepted last", id, last)
			}
		case d.Status == "failed" && d.Reason == "Superseded":
		default:
			t.Errorf("deploy %s ended %+v", id, d)
		}
	}
	if succeeded != 1 {
		t.Fatalf("%d deploys succeeded, want exactly the last", succeeded)
	}
}

func TestUnknownServiceAndBadVersion(t *testing.T) {
	t.Parallel()
	e := newEnv(t, basic)
	var errBody struct {
		Error string
		Code  int
	}
	if code := e.call("POST", "/deploy", map[string]string{"name": "nope", "version": "1"}, &errBody); code != 404 || errBody.Code != 404 {
		t.Errorf("unknown service: %d %+v", code, errBody)
	}
	if code := e.call("POST", "/deploy", map[string]string{"name": "web", "version": "bad version!"}, &errBody); code != 422 {
		t.Errorf("bad version: %d %+v", code, errBody)
	}
	if code := e.callAs("view-token", "POST", "/deploy", map[string]string{"name": "web", "version": "1.2"}, &errBody); code != 403 {
		t.Errorf("view token deploying: %d", code)
	}
	if code := e.callAs("wrong", "GET", "/status", nil, &errBody); code != 401 {
		t.Errorf("wrong token: %d", code)
	}
}
