package e2e

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/envop/envop/internal/testcluster"
)

const blueGreen = `project: shop
environments:
  - name: e2e
    namespace: NS
    services:
      - name: api
        version: "1.0.0"
        port: 8080
        external_url: api.example.com
        deployment:
          method: bluegreen
          active: blue
`

// selector returns the colour the parent Service sends traffic to.
func selectedColour(t *testing.T, ns string) string {
	t.Helper()
	svc, err := testcluster.Get(t).Client.CoreV1().Services(ns).Get(t.Context(), "api", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return svc.Spec.Selector["app.kubernetes.io/instance"]
}

func TestBlueGreenDeployAndPromote(t *testing.T) {
	t.Parallel()
	e := newEnv(t, blueGreen)
	e.eventually(60*time.Second, "api green", func() (bool, string) { return e.service("api").Status == "green", e.service("api").Status })
	if got := selectedColour(t, e.ns); got != "api-blue" {
		t.Fatalf("parent selects %s, want api-blue", got)
	}
	// A failing version goes to green (inactive); promotion is refused.
	if d := e.deploy("api", "2.0.0-crashloop"); d.Status != "failed" {
		t.Fatalf("deploy %+v", d)
	}
	var errBody struct{ Error string }
	if code := e.call("POST", "/promote", map[string]string{"name": "api"}, &errBody); code != 409 {
		t.Fatalf("promote to a failing colour = %d %s", code, errBody.Error)
	}
	if got := selectedColour(t, e.ns); got != "api-blue" {
		t.Fatalf("traffic moved to %s after a refused promotion", got)
	}
	// A good version on green, then promotion switches traffic.
	if d := e.deploy("api", "2.0.1"); d.Status != "succeeded" {
		t.Fatalf("deploy %+v", d)
	}
	var promoted struct{ Service, Active string }
	if code := e.call("POST", "/promote", map[string]string{"name": "api"}, &promoted); code != 200 || promoted.Active != "green" {
		t.Fatalf("promote = %d %+v", code, promoted)
	}
	e.eventually(30*time.Second, "traffic on green", func() (bool, string) {
		got := selectedColour(t, e.ns)
		return got == "api-green", got
	})
	// The next deploy goes to blue, now inactive.
	var d deployView
	e.call("POST", "/deploy", map[string]string{"name": "api", "version": "3.0.0"}, &d)
	if got := e.wait(d.ID, 60*time.Second); got.Status != "succeeded" {
		t.Fatalf("deploy %+v", got)
	}
	if got := selectedColour(t, e.ns); got != "api-green" {
		t.Fatalf("a deploy moved traffic to %s", got)
	}
	e.restart()
	if got := selectedColour(t, e.ns); got != "api-green" {
		t.Fatalf("after restart traffic on %s", got)
	}
}

func TestRollback(t *testing.T) {
	t.Parallel()
	e := newEnv(t, basic)
	e.eventually(60*time.Second, "green", func() (bool, string) { return e.service("web").Status == "green", "" })
	if d := e.deploy("web", "1.1.0"); d.Status != "succeeded" {
		t.Fatal(d)
	}
	if d := e.deploy("web", "1.2.0-crashloop"); d.Status != "failed" {
		t.Fatal(d)
	}
	var d deployView
	if code := e.call("POST", "/rollback", map[string]string{"name": "web"}, &d); code != 202 {
		t.Fatalf("rollback = %d %+v", code, d)
	}
	if d.Version != "1.1.0" {
		t.Fatalf("rollback chose %s, want the last success 1.1.0", d.Version)
	}
	if got := e.wait(d.ID, 60*time.Second); got.Status != "succeeded" {
		t.Fatalf("rollback ended %+v", got)
	}
	if s := e.service("web"); s.Version != "1.1.0" || s.Status != "green" {
		t.Fatalf("after rollback %+v", s)
	}
}
