package trials

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/envop/envop/internal/testcluster"
)

// refusedTag is the version the trial's admission policy refuses.
const refusedTag = "6.6.6"

// TestTrialAdmissionRefusal deploys through the API while a
// ValidatingAdmissionPolicy (bound to the trial's namespace only) refuses
// one version: alone, among concurrent deploys, and followed at once by a
// good version. Every deploy ends (none is left deploying), a refused one
// fails with AdmissionDenied and the policy's message (or Superseded), a
// good one that follows it succeeds (the refusal of the apply it came
// during is not its own), and the Deployment ends at the last good
// version.
func TestTrialAdmissionRefusal(t *testing.T) {
	t.Parallel()
	rep := record(t, "an admission policy refuses one version in a sequence of deploys")
	n, rounds := pick(6, 20), pick(4, 10)
	ns := testcluster.Namespace(t)
	r := newRepo(t, false)
	r.commit(manifest(ns, "web=1.0.0"))
	op := newProc(t, ns, r.Work, "--poll-interval", "1h")
	op.start()
	var policy string
	t.Cleanup(func() { removed(t, policy) }) // runs after DenyImageTag's own cleanup
	policy = testcluster.DenyImageTag(t, ns, refusedTag)
	message := "images tagged " + refusedTag + " may not run in this namespace"
	a := &admissionRun{t: t, op: op, message: message}

	// One at a time: good, refused, good.
	a.want(a.deploy("1.1.0"), true)
	start := time.Now()
	refused := a.want(a.deploy(refusedTag), false)
	verdict := time.Since(start)
	if refused.Reason != "AdmissionDenied" {
		t.Errorf("the refused deploy alone ended %s %s, want AdmissionDenied: %s", refused.Status, refused.Reason, refused.Message)
	}
	if img := image(t, ns, "web"); !strings.HasSuffix(img, ":1.1.0") {
		t.Errorf("after the refusal the Deployment runs %s, want 1.1.0 still", img)
	}
	a.want(a.deploy("1.1.1"), true)

	// Released at once: refused and good versions in any order.
	ids := a.burst(n)
	for _, id := range ids {
		a.want(id, false)
	}
	// A refused version, then a good one right after, without waiting:
	// the good one must succeed, whatever stage the refused one reached.
	// The last round deploys 1.2.0.
	for i := range rounds {
		good := fmt.Sprintf("1.1.%d", 100+i)
		if i == rounds-1 {
			good = "1.2.0"
		}
		pair := []string{a.deploy(refusedTag), a.deploy(good)}
		a.want(pair[0], false)
		a.want(pair[1], true)
	}

	final := image(t, ns, "web")
	if !strings.HasSuffix(final, ":1.2.0") {
		t.Errorf("the Deployment runs %s once the deploy of 1.2.0 ended, want 1.2.0", final)
	}
	green := eventually(t, time.Minute, "web green at 1.2.0", func() (bool, string) {
		s, err := op.status()
		if err != nil {
			return false, err.Error()
		}
		return allGreenAt(s, 1, "1.2.0")
	})
	rep.add("ValidatingAdmissionPolicy %s (binding by namespace selector, this namespace only) refusing image tag %s", policy, refusedTag)
	rep.add("alone: 1.1.0 succeeded, %s failed AdmissionDenied %s after POST /deploy (%q), the Deployment kept 1.1.0",
		refusedTag, verdict.Round(time.Millisecond), policyPart(refused.Message))
	rep.add("%d concurrent POST /deploy (%s and 1.1.x in random order); then %d times %s and a good version back to back, the last 1.2.0", n, refusedTag, rounds, refusedTag)
	rep.add("%d deploys, every one ended: %s; 0 left deploying; no %s succeeded", len(a.views), a.summary(), refusedTag)
	rep.add("the Deployment runs %s when the last deploy ended; web green at 1.2.0 %s later", final, green.Round(100*time.Millisecond))
}

// admissionRun is one sequence of deploys of service web.
type admissionRun struct {
	t       *testing.T
	op      *proc
	message string
	mu      sync.Mutex
	views   []deployView
}

// deploy posts a deploy of web at version and returns its id.
func (a *admissionRun) deploy(version string) string {
	a.t.Helper()
	id, err := a.post(version)
	if err != nil {
		a.t.Fatal(err)
	}
	return id
}

func (a *admissionRun) post(version string) (string, error) {
	code, data, err := a.op.call("POST", "/deploy", map[string]string{"name": "web", "version": version})
	var d deployView
	if err != nil || code != http.StatusAccepted || json.Unmarshal(data, &d) != nil {
		return "", fmt.Errorf("POST /deploy web %s: %d %s %v", version, code, data, err)
	}
	return d.ID, nil
}

// burst posts n deploys released at once, every other of the refused tag.
func (a *admissionRun) burst(n int) []string {
	a.t.Helper()
	ids := make([]string, n)
	gate := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		version := refusedTag
		if i%2 == 1 {
			version = fmt.Sprintf("1.1.%d", 10+i)
		}
		wg.Go(func() {
			<-gate
			var err error
			if ids[i], err = a.post(version); err != nil {
				a.t.Error(err)
			}
		})
	}
	close(gate)
	wg.Wait()
	if a.t.Failed() {
		a.t.FailNow()
	}
	return ids
}

// want waits for deploy id to end and checks how: a refused version ends
// failed, with AdmissionDenied and the policy's message, or Superseded
// when a later deploy took its place before it was applied; a good one
// succeeds when mustSucceed, else it may also fail Superseded.
func (a *admissionRun) want(id string, mustSucceed bool) deployView {
	a.t.Helper()
	d := a.op.wait(id, 2*time.Minute)
	a.mu.Lock()
	a.views = append(a.views, d)
	a.mu.Unlock()
	refused := d.Version == refusedTag
	switch {
	case d.Status != "succeeded" && d.Status != "failed":
		a.t.Errorf("deploy %s of %s still %s after 2m: %s", id, d.Version, d.Status, d.Message)
	case refused && d.Status == "succeeded":
		a.t.Errorf("deploy %s of the refused %s succeeded", id, d.Version)
	case refused && d.Reason == "AdmissionDenied" && !strings.Contains(d.Message, a.message):
		a.t.Errorf("deploy %s of %s failed AdmissionDenied without the policy's message %q: %s", id, d.Version, a.message, d.Message)
	case d.Status == "failed" && d.Reason != "Superseded" && !(refused && d.Reason == "AdmissionDenied"):
		a.t.Errorf("deploy %s of %s failed %s: %s", id, d.Version, d.Reason, d.Message)
	case mustSucceed && d.Status != "succeeded":
		a.t.Errorf("deploy %s of %s ended %s %s, want succeeded: %s", id, d.Version, d.Status, d.Reason, d.Message)
	}
	return d
}

// summary counts the ends of the deploys: "2 succeeded, 3 failed
// AdmissionDenied, ...".
func (a *admissionRun) summary() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	counts := map[string]int{}
	for _, d := range a.views {
		counts[strings.TrimSpace(d.Status+" "+d.Reason)]++
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(counts)) {
		parts = append(parts, fmt.Sprintf("%d %s", counts[k], k))
	}
	return strings.Join(parts, ", ")
}

// image is the first container's image of Deployment name in ns.
func image(t *testing.T, ns, name string) string {
	t.Helper()
	d, err := testcluster.Get(t).Client.AppsV1().Deployments(ns).Get(t.Context(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get Deployment %s: %v", name, err)
	}
	return d.Spec.Template.Spec.Containers[0].Image
}

// policyPart is what an admission refusal's message says of the policy.
func policyPart(msg string) string {
	if i := strings.Index(msg, "denied request: "); i >= 0 {
		return "…" + msg[i:]
	}
	return truncate(msg, 100)
}

// removed fails the test when the cluster-scoped policy or its binding is
// still there.
func removed(t *testing.T, name string) {
	if name == "" {
		return
	}
	api := testcluster.Get(t).Client.AdmissionregistrationV1()
	ctx := context.WithoutCancel(t.Context())
	if _, err := api.ValidatingAdmissionPolicies().Get(ctx, name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("admission policy %s still there after the trial: %v", name, err)
	}
	if _, err := api.ValidatingAdmissionPolicyBindings().Get(ctx, name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("admission policy binding %s still there after the trial: %v", name, err)
	}
}
