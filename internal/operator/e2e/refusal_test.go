package e2e

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"

	"github.com/envop/envop/internal/cli"
	"github.com/envop/envop/internal/testcluster"
)

// verdictWait bounds how long a refused deploy may take to fail: a
// refusal is final at once, so the deploy must not still be deploying.
const verdictWait = 10 * time.Second

// refusedDeploy deploys version of service and wants it failed with
// reason and a message holding message within verdictWait; it logs how
// long the verdict took.
func (e *env) refusedDeploy(service, version, reason, message string) deployView {
	e.t.Helper()
	start := time.Now()
	var d deployView
	if code := e.call("POST", "/deploy", map[string]string{"name": service, "version": version}, &d); code != 202 {
		e.t.Fatalf("POST /deploy %s %s = %d %+v", service, version, code, d)
	}
	d = e.wait(d.ID, verdictWait)
	took := time.Since(start)
	e.t.Logf("verdict latency %s (%s): %s after POST /deploy", reason, e.t.Name(), took.Round(time.Millisecond))
	if d.Status != "failed" || d.Reason != reason || !strings.Contains(d.Message, message) {
		e.t.Fatalf("deploy of %s %s after %s: %+v; want failed with %s and %q\noperator log tail:\n%s",
			service, version, took.Round(time.Millisecond), d, reason, message, e.logs.Tail(20))
	}
	var records []struct{ Actor, Version, Result, Message string }
	e.call("GET", "/audit?service="+service+"&limit=1", nil, &records)
	if len(records) != 1 || records[0].Result != "failed" || records[0].Actor != "ci" ||
		!strings.Contains(records[0].Message, reason) || !strings.Contains(records[0].Message, message) {
		e.t.Errorf("newest audit record of %s: %+v", service, records)
	}
	return d
}

// serviceStatus is GET /status/{service}.
func (e *env) serviceStatus(name string) serviceView {
	e.t.Helper()
	var s serviceView
	if code := e.call("GET", "/status/"+name, nil, &s); code != 200 {
		e.t.Fatalf("GET /status/%s = %d", name, code)
	}
	return s
}

// events lists the Events on kind/name, as `kubectl events --for` does.
func (e *env) events(kind, name string) []corev1.Event {
	e.t.Helper()
	sel := fields.AndSelectors(fields.OneTermEqualSelector("involvedObject.kind", kind),
		fields.OneTermEqualSelector("involvedObject.name", name)).String()
	list, err := testcluster.Get(e.t).Client.CoreV1().Events(e.ns).List(e.t.Context(), metav1.ListOptions{FieldSelector: sel})
	if err != nil {
		e.t.Fatal(err)
	}
	return list.Items
}

// wantEvent waits for an Event on kind/name with reason whose message
// holds each of words. The bound is generous: the deploy's own outcome
// is what the tests time; with the other tests running at once on 2
// cores, an Event once came just after 15 s.
func (e *env) wantEvent(kind, name, reason string, words ...string) {
	e.t.Helper()
	e.eventually(60*time.Second, fmt.Sprintf("Event %s on %s %s", reason, kind, name), func() (bool, string) {
		var seen []string
		for _, ev := range e.events(kind, name) {
			seen = append(seen, ev.Reason+": "+ev.Message)
			if ev.Reason != reason {
				continue
			}
			ok := true
			for _, w := range words {
				ok = ok && strings.Contains(ev.Message, w)
			}
			if ok {
				return true, ""
			}
		}
		return false, strings.Join(seen, " | ")
	})
}

const quotaFile = `project: shop
environments:
  - name: e2e
    namespace: NS
    services:
      - name: web
        version: "1.0.0"
        ports: []
      - name: api
        ports: []
`

// TestQuotaRefusalFailsDeploy: a ResourceQuota with no room for a new
// service's Deployment fails its deploy at once with QuotaExceeded and the
// API server's message, in the deploy, the status, the audit, the CLI's
// output and an Event on the Deployment.
func TestQuotaRefusalFailsDeploy(t *testing.T) {
	t.Parallel()
	ns := testcluster.Namespace(t)
	e := newEnvIn(t, ns, quotaFile, nil)
	e.eventually(60*time.Second, "web green", func() (bool, string) { s := e.service("web"); return s.Status == "green", s.Status })
	testcluster.Quota(t, ns, "deployments", corev1.ResourceList{"count/deployments.apps": testcluster.Count(1)})

	e.refusedDeploy("api", "1.0.0", "QuotaExceeded", "exceeded quota: deployments")
	s := e.serviceStatus("api")
	if s.Status != "red" || s.Reason != "QuotaExceeded" || !strings.Contains(s.Message, "exceeded quota") {
		t.Errorf("GET /status/api = %+v, want red with QuotaExceeded", s)
	}
	e.wantEvent("Deployment", "api", "QuotaExceeded", "by ci", "exceeded quota")
	e.wantEvent("Deployment", "api", "DeployFailed", "by ci", "QuotaExceeded")

	var out bytes.Buffer
	code := cli.Run(t.Context(), cli.Streams{Out: &out, Err: &out},
		[]string{"deploy", "--endpoint", e.url, "--token", token, "--wait", "--timeout", "30s", "api", "1.0.1"})
	if code != cli.ExitFailed || !strings.Contains(out.String(), "QuotaExceeded") || !strings.Contains(out.String(), "exceeded quota") {
		t.Errorf("envop deploy --wait = %d:\n%s", code, out.String())
	}
	t.Logf("envop deploy --wait:\n%s", out.String())
}

// TestAdmissionPolicyRefusalFailsDeploy: a ValidatingAdmissionPolicy that
// denies an image tag fails the deploy of that tag at once with
// AdmissionDenied and the policy's message.
func TestAdmissionPolicyRefusalFailsDeploy(t *testing.T) {
	t.Parallel()
	ns := testcluster.Namespace(t)
	e := newEnvIn(t, ns, basic, nil)
	e.eventually(60*time.Second, "worker green", func() (bool, string) { s := e.service("worker"); return s.Status == "green", s.Status })
	testcluster.DenyImageTag(t, ns, "bad")

	e.refusedDeploy("worker", "bad", "AdmissionDenied", "denied request: images tagged bad may not run")
	if s := e.serviceStatus("worker"); s.Status != "red" || s.Reason != "AdmissionDenied" {
		t.Errorf("GET /status/worker = %+v, want red with AdmissionDenied", s)
	}
	e.wantEvent("Deployment", "worker", "AdmissionDenied", "by ci", "ValidatingAdmissionPolicy")
	// A version the policy allows goes through.
	if d := e.deploy("worker", "1.1.0"); d.Status != "succeeded" {
		t.Fatalf("deploy after the refusal: %+v", d)
	}
	if s := e.serviceStatus("worker"); s.Status != "green" {
		t.Errorf("GET /status/worker after a good deploy = %+v\noperator log tail:\n%s", s, e.logs.Tail(30))
	}
}

// TestPodSecurityRefusalFailsDeploy: in a namespace enforcing Pod Security
// restricted, a service whose pods violate it gets its Deployment, but no
// pod: the deploy fails at once with FailedCreate and the admission's
// message.
func TestPodSecurityRefusalFailsDeploy(t *testing.T) {
	t.Parallel()
	ns := testcluster.Namespace(t)
	e := newEnvIn(t, ns, basic, nil)
	e.eventually(60*time.Second, "worker green", func() (bool, string) { s := e.service("worker"); return s.Status == "green", s.Status })
	testcluster.EnforcePodSecurity(t, ns, "restricted")

	e.refusedDeploy("worker", "1.1.0", "FailedCreate", "violates PodSecurity")
	if s := e.serviceStatus("worker"); s.Status != "red" || s.Reason != "FailedCreate" {
		t.Errorf("GET /status/worker = %+v, want red with FailedCreate", s)
	}
	e.wantEvent("Deployment", "worker", "DeployFailed", "by ci", "violates PodSecurity")
}

// TestPodQuotaRefusalFailsDeploy: a count/pods quota with no room for the
// rollout's new pod fails the deploy with FailedCreate.
func TestPodQuotaRefusalFailsDeploy(t *testing.T) {
	t.Parallel()
	ns := testcluster.Namespace(t)
	e := newEnvIn(t, ns, basic, nil)
	e.eventually(60*time.Second, "green", func() (bool, string) { s := e.status(); return s.Status == "green", s.Status })
	pods, err := testcluster.Get(t).Client.CoreV1().Pods(ns).List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	testcluster.Quota(t, ns, "pods", corev1.ResourceList{"count/pods": testcluster.Count(int64(len(pods.Items)))})

	e.refusedDeploy("worker", "1.1.0", "FailedCreate", "exceeded quota: pods")
}

// TestDeployEventsOnWorkload: `kubectl events --for deployment/web` tells
// who deployed what, with no POD_NAME set for the operator.
func TestDeployEventsOnWorkload(t *testing.T) {
	t.Parallel()
	e := newEnv(t, basic)
	e.eventually(60*time.Second, "web green", func() (bool, string) { s := e.service("web"); return s.Status == "green", s.Status })
	d := e.deploy("web", "1.1.0")
	if d.Status != "succeeded" {
		t.Fatalf("deploy %+v", d)
	}
	e.wantEvent("Deployment", "web", "DeployAccepted", "by ci", d.ID, "1.1.0")
	e.wantEvent("Deployment", "web", "DeploySucceeded", "by ci", d.ID, "1.1.0")
	// The first sync's deploys name the commit's author.
	e.wantEvent("Deployment", "web", "DeploySucceeded", "by Dev", "1.0.0")
	for _, ev := range e.events("Deployment", "web") {
		if ev.Source.Component == "deployment-controller" {
			continue
		}
		if ev.InvolvedObject.APIVersion != "apps/v1" || ev.Source.Component != "envop" {
			t.Errorf("event %s: involved %+v, source %+v", ev.Reason, ev.InvolvedObject, ev.Source)
		}
	}
}
