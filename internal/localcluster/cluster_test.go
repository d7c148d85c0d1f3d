package localcluster_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/envop/envop/internal/localcluster"
	"github.com/envop/envop/internal/testcluster"
)

func TestMain(m *testing.M) { os.Exit(testcluster.Main(m)) }

// eventually polls cond until it holds or timeout, then fails with the last
// reason cond gave.
func eventually(t *testing.T, timeout time.Duration, cond func(ctx context.Context) (bool, string, error)) {
	t.Helper()
	var last string
	err := wait.PollUntilContextTimeout(t.Context(), 100*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		ok, why, err := cond(ctx)
		last = why
		return ok, err
	})
	if err != nil {
		t.Fatalf("condition not met after %s: %v (last: %s)", timeout, err, last)
	}
}

func deployment(name, image string, replicas int32) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: image}}},
			},
		},
	}
}

func TestAPIServerReady(t *testing.T) {
	t.Parallel()
	c := testcluster.Get(t)
	body, err := c.Client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(t.Context())
	if err != nil || string(body) != "ok" {
		t.Fatalf("readyz = %q, %v", body, err)
	}
	v, err := c.Client.Discovery().ServerVersion()
	if err != nil {
		t.Fatal(err)
	}
	if v.GitVersion != "v1.37.2" {
		t.Errorf("server version = %s, want v1.37.2", v.GitVersion)
	}
}

// TestNodesKeepLeases: kwok renews a Lease per node, so the node lifecycle
// controller never marks the nodes (and their pods) NotReady.
func TestNodesKeepLeases(t *testing.T) {
	t.Parallel()
	c := testcluster.Get(t)
	nodes, err := c.Client.CoreV1().Nodes().List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes.Items {
		eventually(t, 30*time.Second, func(ctx context.Context) (bool, string, error) {
			lease, err := c.Client.CoordinationV1().Leases("kube-node-lease").Get(ctx, n.Name, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				return false, "no lease for " + n.Name, nil
			}
			if err != nil {
				return false, "", err
			}
			fresh := lease.Spec.RenewTime != nil && time.Since(lease.Spec.RenewTime.Time) < 45*time.Second
			return fresh, "lease of " + n.Name + " not renewed", nil
		})
	}
}

func TestDeploymentBecomesAvailable(t *testing.T) {
	t.Parallel()
	c, ns := testcluster.Get(t), testcluster.Namespace(t)
	d := deployment("web", "registry.example.com/web:1.0.0", 2)
	if _, err := c.Client.AppsV1().Deployments(ns).Create(t.Context(), d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 60*time.Second, func(ctx context.Context) (bool, string, error) {
		got, err := c.Client.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return false, "", err
		}
		s := got.Status
		why := fmt.Sprintf("observed=%d updated=%d available=%d", s.ObservedGeneration, s.UpdatedReplicas, s.AvailableReplicas)
		return s.ObservedGeneration == got.Generation && s.UpdatedReplicas == 2 && s.AvailableReplicas == 2, why, nil
	})
}

func TestJobCompletes(t *testing.T) {
	t.Parallel()
	c, ns := testcluster.Get(t), testcluster.Namespace(t)
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "migrate"},
		Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			RestartPolicy: corev1.RestartPolicyNever,
			Containers:    []corev1.Container{{Name: "migrate", Image: "registry.example.com/migrate:1"}},
		}}},
	}
	if _, err := c.Client.BatchV1().Jobs(ns).Create(t.Context(), job, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 60*time.Second, func(ctx context.Context) (bool, string, error) {
		got, err := c.Client.BatchV1().Jobs(ns).Get(ctx, "migrate", metav1.GetOptions{})
		if err != nil {
			return false, "", err
		}
		return got.Status.Succeeded == 1 && got.Status.CompletionTime != nil, fmt.Sprintf("succeeded=%d", got.Status.Succeeded), nil
	})
}

func TestClaimBinds(t *testing.T) {
	t.Parallel()
	c, ns := testcluster.Get(t), testcluster.Namespace(t)
	pvc := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "data"},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
		},
	}
	if _, err := c.Client.CoreV1().PersistentVolumeClaims(ns).Create(t.Context(), pvc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 60*time.Second, func(ctx context.Context) (bool, string, error) {
		got, err := c.Client.CoreV1().PersistentVolumeClaims(ns).Get(ctx, "data", metav1.GetOptions{})
		if err != nil {
			return false, "", err
		}
		return got.Status.Phase == corev1.ClaimBound, string(got.Status.Phase), nil
	})
	got, err := c.Client.CoreV1().PersistentVolumeClaims(ns).Get(t.Context(), "data", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	volume := got.Spec.VolumeName
	if err := c.Client.CoreV1().PersistentVolumeClaims(ns).Delete(t.Context(), "data", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	// The volume is released and, with reclaim policy Delete, removed.
	eventually(t, 60*time.Second, func(ctx context.Context) (bool, string, error) {
		pv, err := c.Client.CoreV1().PersistentVolumes().Get(ctx, volume, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, "", nil
		}
		if err != nil {
			return false, "", err
		}
		return false, string(pv.Status.Phase), nil
	})
}

// podOf waits for the single pod of deployment name and returns it once
// check accepts it.
func waitPod(t *testing.T, client kubernetes.Interface, ns, app string, timeout time.Duration, check func(*corev1.Pod) (bool, string)) *corev1.Pod {
	t.Helper()
	var pod *corev1.Pod
	eventually(t, timeout, func(ctx context.Context) (bool, string, error) {
		pods, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=" + app})
		if err != nil || len(pods.Items) == 0 {
			return false, "no pod yet", err
		}
		pod = &pods.Items[0]
		ok, why := check(pod)
		return ok, why, nil
	})
	return pod
}

func containerStatus(p *corev1.Pod) corev1.ContainerStatus {
	if len(p.Status.ContainerStatuses) == 0 {
		return corev1.ContainerStatus{}
	}
	return p.Status.ContainerStatuses[0]
}

func waitingReason(p *corev1.Pod) string {
	if w := containerStatus(p).State.Waiting; w != nil {
		return w.Reason
	}
	return ""
}

func TestFailureCrashLoop(t *testing.T) {
	t.Parallel()
	c, ns := testcluster.Get(t), testcluster.Namespace(t)
	d := deployment("crash", "registry.example.com/crash:1.0.0-crashloop", 1)
	progressDeadline := int32(5)
	d.Spec.ProgressDeadlineSeconds = &progressDeadline
	if _, err := c.Client.AppsV1().Deployments(ns).Create(t.Context(), d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitPod(t, c.Client, ns, "crash", 60*time.Second, func(p *corev1.Pod) (bool, string) {
		cs := containerStatus(p)
		return waitingReason(p) == "CrashLoopBackOff" && cs.RestartCount >= 2 && !cs.Ready,
			fmt.Sprintf("waiting=%q restarts=%d", waitingReason(p), cs.RestartCount)
	})
	// The real deployment controller notices the rollout cannot progress.
	eventually(t, 60*time.Second, func(ctx context.Context) (bool, string, error) {
		got, err := c.Client.AppsV1().Deployments(ns).Get(ctx, "crash", metav1.GetOptions{})
		if err != nil {
			return false, "", err
		}
		for _, cond := range got.Status.Conditions {
			if cond.Type == appsv1.DeploymentProgressing && cond.Reason == "ProgressDeadlineExceeded" {
				return true, "", nil
			}
		}
		return false, fmt.Sprintf("conditions=%v", got.Status.Conditions), nil
	})
}

func TestFailureBadImage(t *testing.T) {
	t.Parallel()
	c, ns := testcluster.Get(t), testcluster.Namespace(t)
	d := deployment("pull", "registry.example.com/pull:1.0.0-badimage", 1)
	if _, err := c.Client.AppsV1().Deployments(ns).Create(t.Context(), d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitPod(t, c.Client, ns, "pull", 60*time.Second, func(p *corev1.Pod) (bool, string) {
		return waitingReason(p) == "ErrImagePull", waitingReason(p)
	})
	p := waitPod(t, c.Client, ns, "pull", 60*time.Second, func(p *corev1.Pod) (bool, string) {
		return waitingReason(p) == "ImagePullBackOff", waitingReason(p)
	})
	if p.Status.Phase != corev1.PodPending {
		t.Errorf("phase = %s, want Pending", p.Status.Phase)
	}
}

func TestFailureOOMKilled(t *testing.T) {
	t.Parallel()
	c, ns := testcluster.Get(t), testcluster.Namespace(t)
	d := deployment("oom", "registry.example.com/oom:1.0.0-oomkill", 1)
	if _, err := c.Client.AppsV1().Deployments(ns).Create(t.Context(), d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitPod(t, c.Client, ns, "oom", 60*time.Second, func(p *corev1.Pod) (bool, string) {
		cs := containerStatus(p)
		last := cs.LastTerminationState.Terminated
		return last != nil && last.Reason == "OOMKilled" && last.ExitCode == 137 && waitingReason(p) == "CrashLoopBackOff",
			fmt.Sprintf("state=%+v last=%+v", cs.State, cs.LastTerminationState)
	})
}

func TestFailureSlowStart(t *testing.T) {
	t.Parallel()
	c, ns := testcluster.Get(t), testcluster.Namespace(t)
	d := deployment("slow", "registry.example.com/slow:1.0.0-slowstart", 1)
	if _, err := c.Client.AppsV1().Deployments(ns).Create(t.Context(), d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	running := waitPod(t, c.Client, ns, "slow", 30*time.Second, func(p *corev1.Pod) (bool, string) {
		return p.Status.Phase == corev1.PodRunning, string(p.Status.Phase)
	})
	if containerStatus(running).Ready {
		t.Fatal("slowstart container ready at once")
	}
	started := time.Now()
	waitPod(t, c.Client, ns, "slow", 60*time.Second, func(p *corev1.Pod) (bool, string) {
		return containerStatus(p).Ready, "not ready"
	})
	if waited := time.Since(started); waited < 20*time.Second {
		t.Errorf("slowstart became ready after %s, want about 30s", waited)
	}
}

func TestGPUNodeNeedsToleration(t *testing.T) {
	t.Parallel()
	c, ns := testcluster.Get(t), testcluster.Namespace(t)
	gpu := corev1.ResourceList{localcluster.GPUResource: resource.MustParse("1")}
	withToleration := deployment("trainer", "registry.example.com/trainer:1", 1)
	withToleration.Spec.Template.Spec.Containers[0].Resources = corev1.ResourceRequirements{Limits: gpu, Requests: gpu}
	withToleration.Spec.Template.Spec.Tolerations = []corev1.Toleration{{Key: localcluster.GPUTaintKey, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}}
	without := deployment("untolerated", "registry.example.com/trainer:1", 1)
	without.Spec.Template.Spec.Containers[0].Resources = corev1.ResourceRequirements{Limits: gpu, Requests: gpu}
	for _, d := range []*appsv1.Deployment{withToleration, without} {
		if _, err := c.Client.AppsV1().Deployments(ns).Create(t.Context(), d, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	p := waitPod(t, c.Client, ns, "trainer", 60*time.Second, func(p *corev1.Pod) (bool, string) {
		return p.Status.Phase == corev1.PodRunning, string(p.Status.Phase)
	})
	if p.Spec.NodeName != "kwok-gpu-0" {
		t.Errorf("GPU pod on node %q, want kwok-gpu-0", p.Spec.NodeName)
	}
	waitPod(t, c.Client, ns, "untolerated", 60*time.Second, func(p *corev1.Pod) (bool, string) {
		for _, cond := range p.Status.Conditions {
			if cond.Type == corev1.PodScheduled && cond.Reason == corev1.PodReasonUnschedulable {
				return true, ""
			}
		}
		return false, fmt.Sprintf("conditions=%v", p.Status.Conditions)
	})
}

func TestServiceAccountConfinedToNamespace(t *testing.T) {
	t.Parallel()
	c := testcluster.Get(t)
	ns, other := testcluster.Namespace(t), testcluster.Namespace(t)
	rules := []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get", "list", "create"}}}
	_, client := testcluster.ServiceAccountClient(t, ns, "operator", rules)
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "probe"}}
	if _, err := client.CoreV1().ConfigMaps(ns).Create(t.Context(), cm, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create in own namespace: %v", err)
	}
	if _, err := client.CoreV1().ConfigMaps(other).Create(t.Context(), cm, metav1.CreateOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("create in another namespace: err = %v, want Forbidden", err)
	}
	if _, err := client.CoreV1().Secrets(ns).List(t.Context(), metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("list secrets without a rule: err = %v, want Forbidden", err)
	}
	if _, err := client.CoreV1().Nodes().List(t.Context(), metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("list nodes: err = %v, want Forbidden", err)
	}
	if _, err := c.Client.CoreV1().ConfigMaps(ns).Get(t.Context(), "probe", metav1.GetOptions{}); err != nil {
		t.Errorf("admin cannot see the account's ConfigMap: %v", err)
	}
}

func TestPodLogs(t *testing.T) {
	t.Parallel()
	c, ns := testcluster.Get(t), testcluster.Namespace(t)
	for _, d := range []*appsv1.Deployment{
		deployment("web", "registry.example.com/web:1", 1),
		deployment("crash", "registry.example.com/web:1-crashloop", 1),
	} {
		if _, err := c.Client.AppsV1().Deployments(ns).Create(t.Context(), d, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	web := waitPod(t, c.Client, ns, "web", 60*time.Second, func(p *corev1.Pod) (bool, string) {
		return containerStatus(p).Ready, "not ready"
	})
	tail := int64(2)
	logs, err := c.Client.CoreV1().Pods(ns).GetLogs(web.Name, &corev1.PodLogOptions{Container: "app", TailLines: &tail}).DoRaw(t.Context())
	if err != nil {
		t.Fatalf("read logs: %v", err)
	}
	if lines := strings.Split(strings.TrimSpace(string(logs)), "\n"); len(lines) != 2 || !strings.Contains(lines[1], "ready to serve") {
		t.Errorf("logs = %q, want the last 2 lines", logs)
	}
	crash := waitPod(t, c.Client, ns, "crash", 60*time.Second, func(p *corev1.Pod) (bool, string) {
		return waitingReason(p) == "CrashLoopBackOff", waitingReason(p)
	})
	logs, err = c.Client.CoreV1().Pods(ns).GetLogs(crash.Name, &corev1.PodLogOptions{Container: "app", Previous: true}).DoRaw(t.Context())
	if err != nil {
		t.Fatalf("read previous logs: %v", err)
	}
	if !strings.Contains(string(logs), "simulated crash") {
		t.Errorf("previous logs = %q, want the crash", logs)
	}
}
