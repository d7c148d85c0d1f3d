package clustertest

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/envop/envop/internal/health"
	"github.com/envop/envop/internal/localcluster"
	"github.com/envop/envop/internal/testcluster"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

func TestHealthyDeploymentIsGreen(t *testing.T) {
	t.Parallel()
	c, ns := testcluster.Get(t), testcluster.Namespace(t)
	m := start(t, c.Client, ns)
	create(t, c.Client, ns, deployment("api", "1.0.0", "", 2))
	w := waitFor(t, m, "api", time.Minute, is(health.Green))
	if w.Replicas != (health.Replicas{Desired: 2, Updated: 2, Ready: 2, Available: 2}) {
		t.Errorf("replicas = %+v, want 2/2/2/2", w.Replicas)
	}
	if w.Kind != health.KindDeployment || w.Service != "api" || w.Version != "1.0.0" || w.Reason != "" || w.Message != "" {
		t.Errorf("workload = %s", describe(w))
	}
	if len(w.Pods) != 2 {
		t.Fatalf("pods = %+v, want 2", w.Pods)
	}
	for _, p := range w.Pods {
		if !p.Ready || p.Phase != "Running" || p.StartedAt == nil || len(p.Containers) != 1 || p.Containers[0] != "app" {
			t.Errorf("pod = %+v", p)
		}
	}
}

func TestRollingUpdateIsOrangeThenGreen(t *testing.T) {
	t.Parallel()
	c, ns := testcluster.Get(t), testcluster.Namespace(t)
	m := start(t, c.Client, ns)
	d := deployment("api", "1.0.0", "", 2)
	d.Spec.MinReadySeconds = 2 // every new pod keeps the rollout orange for a while
	create(t, c.Client, ns, d)
	waitFor(t, m, "api", time.Minute, is(health.Green))

	d = deployment("api", "2.0.0", "", 2)
	d.Spec.MinReadySeconds = 2
	if _, err := c.Client.AppsV1().Deployments(ns).Update(t.Context(), d, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	var oranges int
	w := waitFor(t, m, "api", 2*time.Minute, func(w health.Workload) bool {
		if w.Version != "2.0.0" {
			return false
		}
		if w.Status == health.Orange {
			oranges++
		}
		return w.Status == health.Green
	})
	if oranges == 0 {
		t.Error("the rollout went green without ever being orange")
	}
	live := 0
	for _, p := range w.Pods {
		if p.Reason != "Terminating" { // old pods being deleted are still listed, and said so
			live++
		}
	}
	if w.Replicas != (health.Replicas{Desired: 2, Updated: 2, Ready: 2, Available: 2}) || live != 2 {
		t.Errorf("after the rollout: %s", describe(w))
	}
}

func TestPodFailuresAreRed(t *testing.T) {
	t.Parallel()
	c, ns := testcluster.Get(t), testcluster.Namespace(t)
	m := start(t, c.Client, ns)
	// The default progress deadline (600 s) is far beyond the waits below:
	// red comes from the pods, not from the deployment controller.
	tests := []struct {
		name, failure string
		reasons       []string
		message       string
	}{
		{"crash", "crashloop", []string{health.ReasonCrashLoopBackOff}, `container "app" is in CrashLoopBackOff (restarted`},
		{"pull", "badimage", []string{health.ReasonImagePullBackOff, health.ReasonErrImagePull}, `registry.example.com/pull:1.0.0-badimage`},
		{"oom", "oomkill", []string{health.ReasonOOMKilled}, `container "app" was OOMKilled`},
	}
	for _, tc := range tests {
		create(t, c.Client, ns, deployment(tc.name, "1.0.0", tc.failure, 1))
	}
	for _, tc := range tests {
		t.Run(tc.failure, func(t *testing.T) {
			w := waitFor(t, m, tc.name, time.Minute, is(health.Red, tc.reasons...))
			if !strings.Contains(w.Message, tc.message) {
				t.Errorf("message = %q, want it to contain %q", w.Message, tc.message)
			}
		})
	}
	// CreateContainerConfigError (a missing Secret or ConfigMap) cannot be
	// shown here: kwok has no kubelet and runs the pod, ready, whatever its
	// env references. The pure tests of EvaluateDeployment cover it.
}

func TestUnschedulableIsRed(t *testing.T) {
	t.Parallel()
	c, ns := testcluster.Get(t), testcluster.Namespace(t)
	m := start(t, c.Client, ns)
	d := deployment("trainer", "1.0.0", "", 1)
	gpu := corev1.ResourceList{localcluster.GPUResource: resource.MustParse("1")}
	d.Spec.Template.Spec.Containers[0].Resources = corev1.ResourceRequirements{Limits: gpu, Requests: gpu}
	create(t, c.Client, ns, d)
	w := waitFor(t, m, "trainer", time.Minute, is(health.Red, health.ReasonUnschedulable))
	if !strings.Contains(w.Message, "pod cannot be scheduled: ") || !strings.Contains(w.Message, "nodes are available") {
		t.Errorf("message = %q, want the scheduler's", w.Message)
	}
}

func TestSlowStartIsOrangeUntilReady(t *testing.T) {
	t.Parallel()
	c, ns := testcluster.Get(t), testcluster.Namespace(t)
	m := start(t, c.Client, ns)
	create(t, c.Client, ns, deployment("slow", "1.0.0", "slowstart", 1))
	waitFor(t, m, "slow", time.Minute, func(w health.Workload) bool {
		return w.Status == health.Orange && len(w.Pods) == 1 && w.Pods[0].Phase == "Running"
	})
	for range 10 {
		time.Sleep(time.Second)
		if w, _ := m.Workload("slow"); w.Status != health.Orange {
			t.Fatalf("a starting pod is not orange: %s", describe(w))
		}
	}
	waitFor(t, m, "slow", time.Minute, is(health.Green))
}

func TestProgressDeadline(t *testing.T) {
	t.Parallel()
	c, ns := testcluster.Get(t), testcluster.Namespace(t)
	m := start(t, c.Client, ns)
	deadline := int32(5)
	slow, crash := deployment("slow", "1.0.0", "slowstart", 1), deployment("crash", "1.0.0", "crashloop", 1)
	for _, d := range []*appsv1.Deployment{slow, crash} {
		d.Spec.ProgressDeadlineSeconds = &deadline
		create(t, c.Client, ns, d)
	}
	t.Run("no pod-level reason", func(t *testing.T) {
		w := waitFor(t, m, "slow", 25*time.Second, is(health.Red, health.ReasonProgressDeadlineExceeded))
		if !strings.Contains(w.Message, "did not progress within 5s") {
			t.Errorf("message = %q", w.Message)
		}
	})
	t.Run("the pod-level reason wins", func(t *testing.T) {
		waitForCondition(t, c.Client, ns, "crash", health.ReasonProgressDeadlineExceeded)
		w, _ := m.Workload("crash")
		if w.Status != health.Red || w.Reason != health.ReasonCrashLoopBackOff {
			t.Errorf("got %s", describe(w))
		}
	})
}

// waitForCondition waits until the deployment controller gave reason.
func waitForCondition(t *testing.T, client kubernetes.Interface, ns, name, reason string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	for {
		d, err := client.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("deployment %s never had condition %s: %v", name, reason, err)
		}
		for _, c := range d.Status.Conditions {
			if c.Reason == reason {
				return
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// countingTransport counts the requests a client sends.
type countingTransport struct {
	next http.RoundTripper
	n    *atomic.Int64
}

func (c countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.next.RoundTrip(r)
}

func TestStatusCostsNoRequest(t *testing.T) {
	t.Parallel()
	c, ns := testcluster.Get(t), testcluster.Namespace(t)
	var requests atomic.Int64
	cfg := rest.CopyConfig(c.Config)
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper { return countingTransport{rt, &requests} })
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	m := start(t, client, ns)
	create(t, c.Client, ns, deployment("api", "1.0.0", "", 2))
	waitFor(t, m, "api", time.Minute, is(health.Green))
	before := requests.Load()
	if before == 0 {
		t.Fatal("the counting transport saw no request at all")
	}
	for range 1000 {
		if ws := m.Workloads(); len(ws) != 1 {
			t.Fatalf("workloads = %d, want 1", len(ws))
		}
		if _, ok := m.Workload("api"); !ok {
			t.Fatal("workload api missing")
		}
	}
	if after := requests.Load(); after != before {
		t.Errorf("2000 status reads sent %d requests, want 0", after-before)
	}
}

func TestNamespacedServiceAccountIsEnough(t *testing.T) {
	t.Parallel()
	c, ns := testcluster.Get(t), testcluster.Namespace(t)
	_, client := testcluster.ServiceAccountClient(t, ns, "envop-health", health.RequiredRules)
	m := start(t, client, ns)
	create(t, c.Client, ns, deployment("api", "1.0.0", "", 1))
	waitFor(t, m, "api", time.Minute, is(health.Green))
}

func TestMissingRightIsNamed(t *testing.T) {
	t.Parallel()
	ns := testcluster.Namespace(t)
	var rules []rbacv1.PolicyRule
	for _, r := range health.RequiredRules {
		if r.Resources[0] != "pods" {
			rules = append(rules, r)
		}
	}
	_, client := testcluster.ServiceAccountClient(t, ns, "envop-health", rules)
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
	defer cancel()
	err := health.NewMonitor(client, ns, environment, nil).Start(ctx)
	if err == nil || !strings.Contains(err.Error(), "caches of pods in namespace") {
		t.Errorf("Start = %v, want an error naming pods", err)
	}
}

// TestGenerationFollowsHealthNotObjects: a change to a watched object that
// leaves the workload's health as it was (a pod's annotation) keeps
// Generation, so what is built from the workloads is reused; a change to
// the health (a scale) moves it.
func TestGenerationFollowsHealthNotObjects(t *testing.T) {
	t.Parallel()
	c, ns := testcluster.Get(t), testcluster.Namespace(t)
	m := start(t, c.Client, ns)
	create(t, c.Client, ns, deployment("api", "1.0.0", "", 1))
	waitFor(t, m, "api", time.Minute, is(health.Green))
	before := settledGeneration(t, m)
	was, _ := m.Workload("api")
	if len(was.Pods) != 1 {
		t.Fatalf("pods = %+v, want 1", was.Pods)
	}
	patch := []byte(`{"metadata":{"annotations":{"note":"nothing that matters to health"}}}`)
	if _, err := c.Client.CoreV1().Pods(ns).Patch(t.Context(), was.Pods[0].Name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	// The informer takes the change in milliseconds; before this change
	// every event moved Generation.
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if after := m.Generation(); after != before {
			now, _ := m.Workload("api")
			t.Fatalf("Generation moved from %d to %d for an annotation:\n%+v\n%+v", before, after, was, now)
		}
	}
	scale := []byte(`{"spec":{"replicas":2}}`)
	if _, err := c.Client.AppsV1().Deployments(ns).Patch(t.Context(), "api", types.MergePatchType, scale, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, m, "api", time.Minute, func(w health.Workload) bool { return w.Replicas.Desired == 2 })
	if after := m.Generation(); after == before {
		t.Errorf("Generation stayed %d when the workload was scaled", after)
	}
}

// settledGeneration waits until Generation holds still for a second (the
// controllers done with the workload's status) and returns it.
func settledGeneration(t *testing.T, m *health.Monitor) uint64 {
	t.Helper()
	g, since := m.Generation(), time.Now()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if now := m.Generation(); now != g {
			g, since = now, time.Now()
		}
		if time.Since(since) >= time.Second {
			return g
		}
	}
	t.Fatal("Generation never held still for a second")
	return 0
}
