package health

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestSummarizePodSurvivesMissingFields(t *testing.T) {
	pods := []*corev1.Pod{
		{},
		{ObjectMeta: metav1.ObjectMeta{Name: "b"}, Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{}}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "c"}, Status: corev1.PodStatus{
			InitContainerStatuses: []corev1.ContainerStatus{{State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{}}}},
			ContainerStatuses: []corev1.ContainerStatus{{State: corev1.ContainerState{
				Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"},
			}}},
			Conditions: []corev1.PodCondition{{Type: corev1.PodScheduled}},
		}},
	}
	got := summarizePods(pods)
	if len(got) != 3 || got[0].Name != "" || got[2].Name != "c" {
		t.Fatalf("summaries = %+v", got)
	}
	if got[0].StartedAt != nil || got[0].Ready || got[0].Restarts != 0 {
		t.Errorf("empty pod summarised as %+v", got[0])
	}
	if got[2].Reason != ReasonCrashLoopBackOff || got[2].Message != `container "" is in CrashLoopBackOff (restarted 0 times)` {
		t.Errorf("pod c = %+v", got[2])
	}
}

func TestSummarizePod(t *testing.T) {
	d := deployment("1.0.0", 1)
	rs := replicaSet(d, "1.0.0", "a", 0)
	tests := []struct {
		name           string
		pod            *corev1.Pod
		want           Pod
		startedAtIsSet bool
	}{
		{"running", rsPod(rs, "1"), Pod{Name: "api-a-1", Phase: "Running", Ready: true, Containers: []string{"app"}}, true},
		{"crash loop", rsPod(rs, "1", waiting("CrashLoopBackOff", "", 4)), Pod{
			Name: "api-a-1", Phase: "Running", Restarts: 4, Containers: []string{"app"},
			Reason: ReasonCrashLoopBackOff, Message: `container "app" is in CrashLoopBackOff (restarted 4 times)`,
		}, true},
		{"creating", rsPod(rs, "1", waiting("ContainerCreating", "", 0)), Pod{
			Name: "api-a-1", Phase: "Running", Containers: []string{"app"}, Reason: "ContainerCreating",
		}, true},
		{"not ready", rsPod(rs, "1", notReady), Pod{
			Name: "api-a-1", Phase: "Running", Containers: []string{"app"}, Reason: "ContainersNotReady", Message: "containers with unready status: [app]",
		}, true},
		{"unschedulable", rsPod(rs, "1", unschedulable("0/3 nodes are available")), Pod{
			Name: "api-a-1", Phase: "Pending", Containers: []string{"app"}, Reason: ReasonUnschedulable, Message: "pod cannot be scheduled: 0/3 nodes are available",
		}, false},
		{"terminating", rsPod(rs, "1", terminating), Pod{
			Name: "api-a-1", Phase: "Running", Ready: true, Containers: []string{"app"}, Reason: "Terminating",
		}, true},
		{"evicted", rsPod(rs, "1", func(p *corev1.Pod) {
			p.Status.Phase, p.Status.Reason, p.Status.Message = corev1.PodFailed, "Evicted", "The node was low on resource: memory."
		}), Pod{
			Name: "api-a-1", Phase: "Failed", Ready: true, Containers: []string{"app"}, Reason: "Evicted", Message: "The node was low on resource: memory.",
		}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := summarizePod(tc.pod)
			if (got.StartedAt != nil) != tc.startedAtIsSet {
				t.Errorf("StartedAt = %v", got.StartedAt)
			}
			got.StartedAt = nil
			if got.Name != tc.want.Name || got.Phase != tc.want.Phase || got.Ready != tc.want.Ready || got.Restarts != tc.want.Restarts ||
				got.Reason != tc.want.Reason || got.Message != tc.want.Message || len(got.Containers) != len(tc.want.Containers) {
				t.Errorf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestEmptyObjectsDoNotPanic(t *testing.T) {
	empty := []*corev1.Pod{{}, {Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{}}, Conditions: []corev1.PodCondition{{}}}}}
	ws := []Workload{
		EvaluateDeployment(&appsv1.Deployment{}, []*appsv1.ReplicaSet{{}}, empty, &autoscalingv2.HorizontalPodAutoscaler{}),
		EvaluateStatefulSet(&appsv1.StatefulSet{}, empty),
		EvaluateJob(&batchv1.Job{}, empty),
		EvaluateCronJob(&batchv1.CronJob{}, []*batchv1.Job{{}}),
	}
	for _, w := range ws {
		if w.Status == "" {
			t.Errorf("%s without a status", w.Kind)
		}
	}
}

func TestUnboundClaimsAreNotAFailure(t *testing.T) {
	p := &corev1.Pod{Status: corev1.PodStatus{Phase: corev1.PodPending, Conditions: []corev1.PodCondition{{
		Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonUnschedulable,
		Message: "0/3 nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: not eligible.",
	}}}}
	if f, ok := podFailure(p); ok {
		t.Fatalf("waiting for claims reported as failure %+v", f)
	}
	p.Status.Conditions[0].Message = "0/3 nodes are available: 3 Insufficient nvidia.com/gpu."
	if f, ok := podFailure(p); !ok || f.reason != ReasonUnschedulable {
		t.Fatalf("insufficient resources not reported: %+v %v", f, ok)
	}
}
