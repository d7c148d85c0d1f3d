package e2e

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"

	"github.com/envop/envop/internal/operator"
	"github.com/envop/envop/internal/testcluster"
)

const withClaim = `project: shop
environments:
  - name: e2e
    namespace: NS
    services:
      - name: web
        version: "1.0.0"
        port: 8080
      - name: store
        version: "1.0.0"
        port: 9000
        volumes:
          - name: data
            path: /data
            size: 1Gi
            modes: ReadWriteOnce
`

// webhook signs a push event the way GitHub does; each is new (the
// operator ignores a delivery it received before).
func (e *env) webhook() int {
	e.t.Helper()
	body := fmt.Sprintf(`{"ref":"refs/heads/master","sent":%d}`, time.Now().UnixNano())
	mac := hmac.New(sha256.New, []byte(e.secret))
	mac.Write([]byte(body))
	req, _ := http.NewRequest("POST", e.url+"/webhook", strings.NewReader(body))
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestCommitsAppliedOnWebhookAndPruned(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withClaim)
	c := testcluster.Get(t)
	e.eventually(2*time.Minute, "store running", func() (bool, string) {
		s := e.service("store")
		return s.Status == "green", s.Status + " " + s.Reason + ": " + s.Message
	})
	// A commit changes web's version and drops store: the webhook applies
	// it at once (the poll interval is an hour).
	e.commit(strings.Replace(withClaim[:strings.Index(withClaim, "      - name: store")], `"1.0.0"`, `"1.2.0"`, 1))
	start := time.Now()
	if code := e.webhook(); code != 202 {
		t.Fatalf("webhook = %d", code)
	}
	e.eventually(30*time.Second, "web at 1.2.0", func() (bool, string) {
		s := e.service("web")
		return s.Version == "1.2.0" && s.Status == "green", s.Version + " " + s.Status
	})
	t.Logf("commit to green via webhook: %s", time.Since(start))
	e.eventually(30*time.Second, "store pruned", func() (bool, string) {
		_, err := c.Client.AppsV1().Deployments(e.ns).Get(t.Context(), "store", metav1.GetOptions{})
		return apierrors.IsNotFound(err), "store still exists"
	})
	claims, err := c.Client.CoreV1().PersistentVolumeClaims(e.ns).List(t.Context(), metav1.ListOptions{})
	if err != nil || len(claims.Items) != 1 {
		t.Fatalf("claims after prune: %v %v (want the claim kept)", len(claims.Items), err)
	}
	if code := e.callAs("x", "POST", "/webhook", nil, nil); code != 401 {
		t.Errorf("unsigned webhook = %d", code)
	}
}

func TestBrokenCommitKeepsRunningState(t *testing.T) {
	t.Parallel()
	e := newEnv(t, basic)
	e.eventually(60*time.Second, "web green", func() (bool, string) { s := e.service("web"); return s.Status == "green", s.Status })
	good := e.status().Revision
	e.commit(strings.NewReplacer("replicas: 2", "replcas: 2", "ports: []", "prots: []").Replace(basic))
	e.webhook()
	e.eventually(30*time.Second, "sync error reported", func() (bool, string) {
		s := e.status()
		return s.Sync.Status == "error" && strings.Contains(s.Sync.Error, "replcas"), s.Sync.Status + " " + s.Sync.Error
	})
	// Every error is reported, one a line, in status and in the audit.
	want := "2 errors:\nenvironments.bitesize:9:9: environments[0].services[0].replcas: unknown field: did you mean replicas?\n" +
		"environments.bitesize:12:9: environments[0].services[1].prots: unknown field: did you mean ports?"
	s := e.status()
	if !strings.HasSuffix(s.Sync.Error, " is invalid: "+want) {
		t.Errorf("sync error %q, want it to list %q", s.Sync.Error, want)
	}
	var records []struct{ Action, Result, Message string }
	e.call("GET", "/audit", nil, &records)
	i := slices.IndexFunc(records, func(r struct{ Action, Result, Message string }) bool { return r.Action == "sync" })
	if i < 0 || records[i].Result != "failed" || records[i].Message != s.Sync.Error {
		t.Errorf("audit records %+v, want the newest sync failed with %q", records, s.Sync.Error)
	}
	if s.Revision != good {
		t.Errorf("revision moved to the broken commit: %s, want %s", s.Revision, good)
	}
	if w := e.service("web"); w.Replicas.Desired != 2 || w.Status != "green" {
		t.Errorf("web changed by a broken commit: %+v", w)
	}
	// Deploys still work from the last good revision.
	if d := e.deploy("web", "1.0.1"); d.Status != "succeeded" {
		t.Fatalf("deploy after a broken commit: %+v", d)
	}
	// The fix restores the good file: it changes nothing in the cluster,
	// but after a failure its success is news for the audit.
	e.commit(basic)
	e.webhook()
	e.eventually(30*time.Second, "the fix's success in the audit", func() (bool, string) {
		var records []struct{ Action, Result, Message string }
		e.call("GET", "/audit", nil, &records)
		i := slices.IndexFunc(records, func(r struct{ Action, Result, Message string }) bool { return r.Action == "sync" })
		return i >= 0 && records[i].Result == "success", fmt.Sprintf("%+v", records)
	})
}

func TestRestartForgetsNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t, basic)
	if d := e.deploy("web", "5.0.0"); d.Status != "succeeded" {
		t.Fatalf("deploy %+v", d)
	}
	syncRecords := func() int {
		var records []struct{ Action, Service string }
		e.call("GET", "/audit?limit=1000", nil, &records)
		n := 0
		for _, r := range records {
			if r.Action == "sync" && r.Service == "" {
				n++
			}
		}
		return n
	}
	before := syncRecords()
	e.restart()
	// A restart applies the same revision again: not a change, not audited.
	if after := syncRecords(); after != before {
		t.Errorf("%d environment sync records after the restart, %d before", after, before)
	}
	// The deployed version wins over git's 1.0.0 after a restart...
	if s := e.service("web"); s.Version != "5.0.0" || s.Status != "green" {
		t.Fatalf("after restart: %+v", s)
	}
	var audit []struct{ Action, Version string }
	e.call("GET", "/audit?service=web", nil, &audit)
	if len(audit) == 0 || audit[0].Version != "5.0.0" {
		t.Fatalf("audit after restart: %+v", audit)
	}
	// ...until a commit changes web's version.
	e.commit(strings.Replace(basic, `"1.0.0"`, `"6.0.0"`, 1))
	e.webhook()
	e.eventually(30*time.Second, "git version wins", func() (bool, string) {
		s := e.service("web")
		return s.Version == "6.0.0" && s.Status == "green", s.Version
	})
	if s := e.service("worker"); s.Version != "1.0.0" {
		t.Errorf("worker changed by a commit that did not touch it: %+v", s)
	}
	// web's own audit names the commit's author for the version git gave it.
	// The deploy's end is recorded when the tracker next looks: wait for it.
	e.eventually(30*time.Second, "the sync by Dev accepted, then succeeded, in web's audit", func() (bool, string) {
		var records []struct{ Actor, Action, Version, Result string }
		e.call("GET", "/audit?service=web&limit=2", nil, &records)
		ok := len(records) == 2 && records[1].Action == "sync" && records[1].Version == "6.0.0" && records[1].Result == "accepted" &&
			strings.Contains(records[1].Actor, "Dev") && records[0].Result == "success"
		return ok, fmt.Sprintf("%+v", records)
	})
	e.auditLoggedOnce()
}

// auditLoggedOnce checks that every record GET /audit returns, the
// environment's and the services', is one "audit" log line, and that no
// other record was logged.
func (e *env) auditLoggedOnce() {
	e.t.Helper()
	type rec struct{ Actor, Action, Service, Version, Revision, Result, Message string }
	var records []rec
	e.call("GET", "/audit?limit=1000", nil, &records)
	logged := map[rec]int{}
	lines := 0
	for _, line := range strings.Split(e.logs.String(), "\n") {
		var l struct {
			Msg string
			rec
		}
		if json.Unmarshal([]byte(line), &l) == nil && l.Msg == "audit" {
			logged[l.rec]++
			lines++
		}
	}
	for _, r := range records {
		if logged[r] != 1 {
			e.t.Errorf("audit record %+v logged %d times, want once", r, logged[r])
		}
	}
	if lines != len(records) || len(records) == 0 {
		e.t.Errorf("%d audit log lines for %d records", lines, len(records))
	}
}

// TestNoOpResyncWritesNothing: the same file in a new commit, applied on a
// webhook, writes nothing at all: no object, no state, no audit record, no
// Event (the operator runs with a Pod to attach Events to). Serial: it
// sets POD_NAME.
func TestNoOpResyncWritesNothing(t *testing.T) {
	ns := testcluster.Namespace(t)
	ownPod(t, ns)
	e := newEnvIn(t, ns, basic, nil)
	e.eventually(60*time.Second, "green", func() (bool, string) { return e.status().Status == "green", e.status().Status })
	// Let deploy outcomes and Events from the first sync be recorded.
	time.Sleep(2 * time.Second)
	before := e.writes.count()
	if !slices.ContainsFunc(e.writes.since(0), func(w string) bool { return strings.HasSuffix(w, "/events") }) {
		t.Fatal("the first sync recorded no Event: this test would not see one")
	}
	var records []struct{ Action, Revision string }
	e.call("GET", "/audit?limit=1000", nil, &records)
	rev := e.commit(basic) // same content, new commit
	if code := e.webhook(); code != http.StatusAccepted {
		t.Fatalf("webhook = %d", code)
	}
	e.eventually(30*time.Second, "new revision applied", func() (bool, string) {
		return strings.Contains(e.logs.String(), `"msg":"sync succeeded","revision":"`+rev+`"`), "waiting"
	})
	time.Sleep(2 * time.Second) // Events are sent in the background
	if writes := e.writes.since(before); len(writes) != 0 {
		t.Fatalf("no-op resync wrote %d times: %v", len(writes), writes)
	}
	var after []struct{ Action, Revision string }
	e.call("GET", "/audit?limit=1000", nil, &after)
	if len(after) != len(records) {
		t.Errorf("%d audit records after the no-op resync, %d before: %+v", len(after), len(records), after)
	}
}

const withHPA = `project: shop
environments:
  - name: e2e
    namespace: NS
    services:
      - name: api
        version: "1.0.0"
        port: 8080
        hpa:
          min_replicas: 2
          max_replicas: 8
          metric:
            name: cpu
            target_average_utilization: 70
`

// TestHPAScalingNotReverted stays serial: run in parallel with the other
// tests it failed twice in nine runs (once the deploy left the HPA's
// minimum, 2, instead of the 5 scaled to; once a conflict on the scale),
// a race not yet explained.
func TestHPAScalingNotReverted(t *testing.T) {
	e := newEnv(t, withHPA)
	c := testcluster.Get(t)
	e.eventually(60*time.Second, "api green", func() (bool, string) { return e.service("api").Status == "green", e.service("api").Status })
	// Another manager (the HPA controller would) scales the Deployment.
	// The controllers write the Deployment meanwhile: a conflict is retried
	// on the newer version, as the HPA controller does.
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		got, err := c.Client.AppsV1().Deployments(e.ns).GetScale(t.Context(), "api", metav1.GetOptions{})
		if err != nil {
			return err
		}
		scale := &autoscalingv1.Scale{ObjectMeta: metav1.ObjectMeta{Name: "api", Namespace: e.ns, ResourceVersion: got.ResourceVersion},
			Spec: autoscalingv1.ScaleSpec{Replicas: 5}}
		_, err = c.Client.AppsV1().Deployments(e.ns).UpdateScale(t.Context(), "api", scale, metav1.UpdateOptions{FieldManager: "hpa-test"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if d := e.deploy("api", "1.1.0"); d.Status != "succeeded" {
		t.Fatalf("deploy %+v", d)
	}
	dep, err := c.Client.AppsV1().Deployments(e.ns).Get(t.Context(), "api", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if *dep.Spec.Replicas != 5 {
		t.Fatalf("replicas = %d after a deploy, want the HPA's 5", *dep.Spec.Replicas)
	}
}

func TestCommitAppliedByPolling(t *testing.T) {
	t.Parallel()
	e := newEnvWith(t, basic, func(o *operator.Options) { o.PollInterval = time.Second })
	e.commit(strings.Replace(basic, `"1.0.0"`, `"1.3.0"`, 1))
	start := time.Now()
	e.eventually(30*time.Second, "web at 1.3.0", func() (bool, string) {
		s := e.service("web")
		return s.Version == "1.3.0" && s.Status == "green", s.Version
	})
	t.Logf("commit to green by polling every 1s: %s", time.Since(start))
}

func TestMetricsAndProbes(t *testing.T) {
	t.Parallel()
	// later has no version: /status shows it orange, and so must the gauge.
	e := newEnv(t, basic+"      - name: later\n        port: 80\n")
	e.eventually(60*time.Second, "services gauge as /status counts them", func() (bool, string) {
		resp, err := http.Get(e.url + "/metrics")
		if err != nil {
			return false, err.Error()
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		var gauge []string
		for _, line := range strings.Split(string(body), "\n") {
			if strings.HasPrefix(line, "envop_services{") {
				gauge = append(gauge, line)
			}
		}
		got := strings.Join(gauge, "; ")
		return strings.Contains(got, `status="green"} 2`) && strings.Contains(got, `status="orange"} 1`), got
	})
	for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
		resp, err := http.Get(e.url + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("%s = %d", path, resp.StatusCode)
		}
		if path == "/metrics" {
			for _, m := range []string{"envop_syncs_total", "envop_objects_applied_total", "envop_last_synced_revision_info", "envop_services"} {
				if !strings.Contains(string(body), m) {
					t.Errorf("metrics lack %s", m)
				}
			}
		}
	}
}

// TestMetricsOnTheirOwnListener: with --metrics-listen, /metrics is
// served on that address and not on the API's, where the probes stay.
func TestMetricsOnTheirOwnListener(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e := newEnvWith(t, basic, func(o *operator.Options) { o.MetricsListener = ln })
	get := func(url string) (int, string) {
		t.Helper()
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	e.eventually(30*time.Second, "services counted on the metrics listener", func() (bool, string) {
		code, body := get("http://" + ln.Addr().String() + "/metrics")
		return code == 200 && strings.Contains(body, `envop_services{status="green"} 2`), fmt.Sprint(code)
	})
	if code, _ := get(e.url + "/metrics"); code != http.StatusNotFound {
		t.Errorf("GET /metrics on the API = %d, want 404", code)
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		if code, _ := get(e.url + path); code != 200 {
			t.Errorf("GET %s on the API = %d", path, code)
		}
	}
}

func TestEmptyCommitRemovesNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t, basic)
	e.commit("project: shop\nenvironments:\n  - name: e2e\n    namespace: NS\n    services: []\n")
	e.webhook()
	e.eventually(30*time.Second, "refusal reported", func() (bool, string) {
		s := e.status()
		return s.Sync.Status == "error" && strings.Contains(s.Sync.Error, "--allow-empty"), s.Sync.Error
	})
	if _, err := testcluster.Get(t).Client.AppsV1().Deployments(e.ns).Get(t.Context(), "web", metav1.GetOptions{}); err != nil {
		t.Fatalf("web removed by an empty commit: %v", err)
	}
}

// ownPod creates the operator's Pod, envop-0, in ns and sets POD_NAME to
// it, as the install manifests do: environment Events are attached to it.
// POD_NAME is the process's: a test calling ownPod cannot be parallel.
func ownPod(t *testing.T, ns string) {
	t.Helper()
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "envop-0"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "envop", Image: "envop:test"}}}}
	if _, err := testcluster.Get(t).Client.CoreV1().Pods(ns).Create(t.Context(), pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Setenv("POD_NAME", "envop-0")
}

// TestEventsOnOwnPod: environment Events go on the operator's own Pod.
// Serial: it sets POD_NAME.
func TestEventsOnOwnPod(t *testing.T) {
	c := testcluster.Get(t)
	ns := testcluster.Namespace(t)
	ownPod(t, ns)
	e := newEnvIn(t, ns, basic, nil)
	e.eventually(30*time.Second, "Synced event", func() (bool, string) {
		evs, err := c.Client.CoreV1().Events(ns).List(t.Context(), metav1.ListOptions{FieldSelector: "involvedObject.name=envop-0"})
		if err != nil {
			return false, err.Error()
		}
		for _, ev := range evs.Items {
			if ev.Reason == "Synced" {
				return true, ""
			}
		}
		return false, fmt.Sprintf("%d events", len(evs.Items))
	})
}
