package health

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
)

// rollout is a Deployment moving from 1.0.0 (ReplicaSet "a") to 2.0.0
// (ReplicaSet "b"), with the status counts given.
func rollout(replicas, updated, available int32) (*appsv1.Deployment, *appsv1.ReplicaSet, *appsv1.ReplicaSet) {
	d := deployment("2.0.0", 2)
	d.Status.Replicas, d.Status.UpdatedReplicas = replicas, updated
	d.Status.ReadyReplicas, d.Status.AvailableReplicas = available, available
	return d, replicaSet(d, "1.0.0", "a", 0), replicaSet(d, "2.0.0", "b", 1)
}

type deploymentCase struct {
	name       string
	build      func() (*appsv1.Deployment, []*appsv1.ReplicaSet, []*corev1.Pod, *autoscalingv2.HorizontalPodAutoscaler)
	status     Status
	reason     string
	message    string // a substring of the message
	replicas   *Replicas
	generation int64
}

func TestEvaluateDeployment(t *testing.T) {
	for _, tc := range deploymentCases() {
		t.Run(tc.name, func(t *testing.T) {
			d, rss, pods, hpa := tc.build()
			w := EvaluateDeployment(d, rss, pods, hpa)
			if w.Status != tc.status || w.Reason != tc.reason || !strings.Contains(w.Message, tc.message) {
				t.Errorf("got %s %q %q, want %s %q with %q", w.Status, w.Reason, w.Message, tc.status, tc.reason, tc.message)
			}
			if tc.status == Green && w.Message != "" {
				t.Errorf("green with message %q", w.Message)
			}
			if tc.replicas != nil && w.Replicas != *tc.replicas {
				t.Errorf("replicas = %+v, want %+v", w.Replicas, *tc.replicas)
			}
			if w.Kind != KindDeployment || w.Service != "api" || w.Name != "api" || w.Version != d.Spec.Template.Labels["app.kubernetes.io/version"] {
				t.Errorf("identity = %s %s/%s %s", w.Kind, w.Service, w.Name, w.Version)
			}
			if len(w.Pods) != len(pods) {
				t.Errorf("%d pods summarised, want %d", len(w.Pods), len(pods))
			}
		})
	}
}

func deploymentCases() []deploymentCase {
	var cases []deploymentCase
	cases = append(cases, deploymentGreenCases()...)
	cases = append(cases, deploymentOrangeCases()...)
	cases = append(cases, deploymentPodFailureCases()...)
	return append(cases, deploymentControllerCases()...)
}

func deploymentGreenCases() []deploymentCase {
	return []deploymentCase{
		{
			name: "complete",
			build: func() (*appsv1.Deployment, []*appsv1.ReplicaSet, []*corev1.Pod, *autoscalingv2.HorizontalPodAutoscaler) {
				d, a, b := rollout(2, 2, 2)
				return d, []*appsv1.ReplicaSet{a, b}, []*corev1.Pod{rsPod(b, "1"), rsPod(b, "2")}, nil
			},
			status: Green, replicas: &Replicas{2, 2, 2, 2},
		},
		{
			name: "old pods terminating count as gone",
			build: func() (*appsv1.Deployment, []*appsv1.ReplicaSet, []*corev1.Pod, *autoscalingv2.HorizontalPodAutoscaler) {
				d, a, b := rollout(2, 2, 2)
				return d, []*appsv1.ReplicaSet{a, b}, []*corev1.Pod{rsPod(a, "1", terminating), rsPod(b, "1"), rsPod(b, "2")}, nil
			},
			status: Green,
		},
		{
			name: "evicted old pod is not a replica",
			build: func() (*appsv1.Deployment, []*appsv1.ReplicaSet, []*corev1.Pod, *autoscalingv2.HorizontalPodAutoscaler) {
				d, a, b := rollout(2, 2, 2)
				evicted := func(p *corev1.Pod) { p.Status.Phase, p.Status.Reason = corev1.PodFailed, "Evicted" }
				return d, []*appsv1.ReplicaSet{a, b}, []*corev1.Pod{rsPod(a, "1", evicted), rsPod(b, "1"), rsPod(b, "2")}, nil
			},
			status: Green,
		},
		{
			name: "crash loop of an old pod is ignored",
			build: func() (*appsv1.Deployment, []*appsv1.ReplicaSet, []*corev1.Pod, *autoscalingv2.HorizontalPodAutoscaler) {
				d, a, b := rollout(3, 2, 2)
				return d, []*appsv1.ReplicaSet{a, b}, []*corev1.Pod{rsPod(a, "1", waiting("CrashLoopBackOff", "", 3)), rsPod(b, "1"), rsPod(b, "2")}, nil
			},
			status: Orange, reason: ReasonProgressing, message: "1 old replicas pending termination",
		},
		{
			name: "zero replicas",
			build: func() (*appsv1.Deployment, []*appsv1.ReplicaSet, []*corev1.Pod, *autoscalingv2.HorizontalPodAutoscaler) {
				d := deployment("2.0.0", 0)
				return d, []*appsv1.ReplicaSet{replicaSet(d, "2.0.0", "b", 1)}, nil, nil
			},
			status: Green, replicas: &Replicas{},
		},
		{
			name: "zero replicas without any status or ReplicaSet",
			build: func() (*appsv1.Deployment, []*appsv1.ReplicaSet, []*corev1.Pod, *autoscalingv2.HorizontalPodAutoscaler) {
				d := deployment("2.0.0", 0)
				d.Status = appsv1.DeploymentStatus{ObservedGeneration: 2}
				return d, nil, nil, nil
			},
			status: Green,
		},
		{
			name: "HPA scaled to 5: desired is spec.replicas",
			build: func() (*appsv1.Deployment, []*appsv1.ReplicaSet, []*corev1.Pod, *autoscalingv2.HorizontalPodAutoscaler) {
				d := deployment("2.0.0", 5)
				b := replicaSet(d, "2.0.0", "b", 1)
				hpa := &autoscalingv2.HorizontalPodAutoscaler{Spec: autoscalingv2.HorizontalPodAutoscalerSpec{MinReplicas: ref(int32(2)), MaxReplicas: 10}}
				hpa.Status.DesiredReplicas = 5
				var pods []*corev1.Pod
				for _, s := range []string{"1", "2", "3", "4", "5"} {
					pods = append(pods, rsPod(b, s))
				}
				return d, []*appsv1.ReplicaSet{b}, pods, hpa
			},
			status: Green, replicas: &Replicas{5, 5, 5, 5},
		},
		{
			name: "rolled back: the older ReplicaSet matches the template again",
			build: func() (*appsv1.Deployment, []*appsv1.ReplicaSet, []*corev1.Pod, *autoscalingv2.HorizontalPodAutoscaler) {
				d := deployment("1.0.0", 1)
				a, b := replicaSet(d, "1.0.0", "a", 0), replicaSet(d, "2.0.0", "b", 1)
				return d, []*appsv1.ReplicaSet{b, a}, []*corev1.Pod{rsPod(a, "1")}, nil
			},
			status: Green,
		},
	}
}

func deploymentOrangeCases() []deploymentCase {
	return []deploymentCase{
		{
			name: "observed generation lags",
			build: func() (*appsv1.Deployment, []*appsv1.ReplicaSet, []*corev1.Pod, *autoscalingv2.HorizontalPodAutoscaler) {
				d, a, _ := rollout(2, 2, 2)
				d.Generation = 3
				return d, []*appsv1.ReplicaSet{a}, []*corev1.Pod{rsPod(a, "1"), rsPod(a, "2")}, nil
			},
			status: Orange, reason: ReasonProgressing, message: "observe generation 3",
		},
		{
			name: "a stale progress deadline does not count before the new generation is observed",
			build: func() (*appsv1.Deployment, []*appsv1.ReplicaSet, []*corev1.Pod, *autoscalingv2.HorizontalPodAutoscaler) {
				d, a, _ := rollout(2, 0, 0)
				d.Generation = 3
				d.Status.Conditions = []appsv1.DeploymentCondition{progressDeadlineExceeded()}
				return d, []*appsv1.ReplicaSet{a}, nil, nil
			},
			status: Orange, reason: ReasonProgressing,
		},
		{
			name: "new replicas not all updated",
			build: func() (*appsv1.Deployment, []*appsv1.ReplicaSet, []*corev1.Pod, *autoscalingv2.HorizontalPodAutoscaler) {
				d, a, b := rollout(3, 1, 2)
				return d, []*appsv1.ReplicaSet{a, b}, []*corev1.Pod{rsPod(a, "1"), rsPod(a, "2"), rsPod(b, "1", notReady)}, nil
			},
			status: Orange, reason: ReasonProgressing, message: "1 of 2 replicas updated", replicas: &Replicas{2, 1, 2, 2},
		},
		{
			name: "old ReplicaSet pods still present",
			build: func() (*appsv1.Deployment, []*appsv1.ReplicaSet, []*corev1.Pod, *autoscalingv2.HorizontalPodAutoscaler) {
				d, a, b := rollout(3, 2, 3)
				return d, []*appsv1.ReplicaSet{a, b}, []*corev1.Pod{rsPod(a, "1"), rsPod(b, "1"), rsPod(b, "2")}, nil
			},
			status: Orange, reason: ReasonProgressing, message: "1 old replicas pending termination",
		},
		{
			name: "status says done but an old pod is still in the cache",
			build: func() (*appsv1.Deployment, []*appsv1.ReplicaSet, []*corev1.Pod, *autoscalingv2.HorizontalPodAutoscaler) {
				d, a, b := rollout(2, 2, 2)
				return d, []*appsv1.ReplicaSet{a, b}, []*corev1.Pod{rsPod(a, "1"), rsPod(b, "1"), rsPod(b, "2")}, nil
			},
			status: Orange, reason: ReasonProgressing, message: "1 old pods pending termination",
		},
		{
			name: "updated but not available yet",
			build: func() (*appsv1.Deployment, []*appsv1.ReplicaSet, []*corev1.Pod, *autoscalingv2.HorizontalPodAutoscaler) {
				d, a, b := rollout(2, 2, 1)
				return d, []*appsv1.ReplicaSet{a, b}, []*corev1.Pod{rsPod(b, "1"), rsPod(b, "2", notReady)}, nil
			},
			status: Orange, reason: ReasonProgressing, message: "1 of 2 updated replicas available",
		},
		{
			name: "HPA scaled up, new pods not available yet",
			build: func() (*appsv1.Deployment, []*appsv1.ReplicaSet, []*corev1.Pod, *autoscalingv2.HorizontalPodAutoscaler) {
				d := deployment("2.0.0", 4)
				d.Status.AvailableReplicas, d.Status.ReadyReplicas = 2, 2
				b := replicaSet(d, "2.0.0", "b", 1)
				hpa := &autoscalingv2.HorizontalPodAutoscaler{}
				hpa.Status.DesiredReplicas = 4
				return d, []*appsv1.ReplicaSet{b}, []*corev1.Pod{rsPod(b, "1"), rsPod(b, "2"), rsPod(b, "3", notReady), rsPod(b, "4", notReady)}, hpa
			},
			status: Orange, reason: ReasonProgressing, message: "2 of 4 updated replicas available", replicas: &Replicas{4, 4, 2, 2},
		},
		{
			name: "paused",
			build: func() (*appsv1.Deployment, []*appsv1.ReplicaSet, []*corev1.Pod, *autoscalingv2.HorizontalPodAutoscaler) {
				d, a, b := rollout(3, 1, 3)
				d.Spec.Paused = true
				return d, []*appsv1.ReplicaSet{a, b}, []*corev1.Pod{rsPod(a, "1"), rsPod(a, "2"), rsPod(b, "1")}, nil
			},
			status: Orange, reason: ReasonPaused,
		},
		{
			name: "new pods starting slowly are progress, not failure",
			build: func() (*appsv1.Deployment, []*appsv1.ReplicaSet, []*corev1.Pod, *autoscalingv2.HorizontalPodAutoscaler) {
				d, a, b := rollout(3, 1, 2)
				return d, []*appsv1.ReplicaSet{a, b}, []*corev1.Pod{rsPod(a, "1"), rsPod(a, "2"), rsPod(b, "1", waiting("ContainerCreating", "", 0))}, nil
			},
			status: Orange, reason: ReasonProgressing,
		},
		{
			name: "no status, no ReplicaSet, no pod yet",
			build: func() (*appsv1.Deployment, []*appsv1.ReplicaSet, []*corev1.Pod, *autoscalingv2.HorizontalPodAutoscaler) {
				d := deployment("2.0.0", 2)
				d.Spec.Replicas = nil
				d.Status = appsv1.DeploymentStatus{}
				return d, nil, nil, nil
			},
			status: Orange, reason: ReasonProgressing, replicas: &Replicas{Desired: 1},
		},
	}
}

func progressDeadlineExceeded() appsv1.DeploymentCondition {
	return appsv1.DeploymentCondition{
		Type: appsv1.DeploymentProgressing, Status: corev1.ConditionFalse,
		Reason: "ProgressDeadlineExceeded", Message: `ReplicaSet "api-b" has timed out progressing.`,
	}
}

// failingRollout is a rollout to 2.0.0 whose first new pod gets opts while
// the old pods keep serving.
func failingRollout(opts ...podOption) func() (*appsv1.Deployment, []*appsv1.ReplicaSet, []*corev1.Pod, *autoscalingv2.HorizontalPodAutoscaler) {
	return func() (*appsv1.Deployment, []*appsv1.ReplicaSet, []*corev1.Pod, *autoscalingv2.HorizontalPodAutoscaler) {
		d, a, b := rollout(3, 1, 2)
		return d, []*appsv1.ReplicaSet{a, b}, []*corev1.Pod{rsPod(a, "1"), rsPod(a, "2"), rsPod(b, "1", opts...)}, nil
	}
}

func deploymentPodFailureCases() []deploymentCase {
	return []deploymentCase{
		{
			name:   "new pod in a crash loop while the old ones serve",
			build:  failingRollout(waiting("CrashLoopBackOff", "back-off 10s restarting failed container=app", 4)),
			status: Red, reason: ReasonCrashLoopBackOff, message: `container "app" is in CrashLoopBackOff (restarted 4 times)`,
		},
		{
			name:   "crash loop tells the last exit code",
			build:  failingRollout(waiting("CrashLoopBackOff", "", 1), lastTerminated("Error", 1)),
			status: Red, reason: ReasonCrashLoopBackOff, message: `(restarted 1 time); it last exited with code 1 (Error)`,
		},
		{
			name:   "crash loop caused by the OOM killer",
			build:  failingRollout(waiting("CrashLoopBackOff", "", 3), lastTerminated("OOMKilled", 137)),
			status: Red, reason: ReasonOOMKilled, message: `container "app" was OOMKilled: it used more than its memory limit of 256Mi (restarted 3 times)`,
		},
		{
			name: "killed by the OOM killer right now",
			build: failingRollout(func(p *corev1.Pod) {
				notReady(p)
				p.Status.ContainerStatuses[0].State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "OOMKilled", ExitCode: 137}}
			}),
			status: Red, reason: ReasonOOMKilled, message: "OOMKilled",
		},
		{
			name:   "running again after an OOM kill is not a failure",
			build:  failingRollout(notReady, lastTerminated("OOMKilled", 137)),
			status: Orange, reason: ReasonProgressing,
		},
		{
			name:   "image pull back-off",
			build:  failingRollout(waiting("ImagePullBackOff", `Back-off pulling image "registry.example.com/api:2.0.0"`, 0)),
			status: Red, reason: ReasonImagePullBackOff, message: `container "app" is in ImagePullBackOff: Back-off pulling image "registry.example.com/api:2.0.0"`,
		},
		{
			name:   "image pull error",
			build:  failingRollout(waiting("ErrImagePull", "not found", 0)),
			status: Red, reason: ReasonErrImagePull, message: "not found",
		},
		{
			name:   "missing secret",
			build:  failingRollout(waiting("CreateContainerConfigError", `secret "db" not found`, 0)),
			status: Red, reason: ReasonCreateContainerConfigError, message: `container "app" is in CreateContainerConfigError: secret "db" not found`,
		},
		{
			name:   "unschedulable",
			build:  failingRollout(unschedulable("0/4 nodes are available: 1 Insufficient nvidia.com/gpu, 3 node(s) had untolerated taint {nvidia.com/gpu: }.")),
			status: Red, reason: ReasonUnschedulable, message: "pod cannot be scheduled: 0/4 nodes are available: 1 Insufficient nvidia.com/gpu",
		},
		{
			name: "init container in a crash loop",
			build: failingRollout(func(p *corev1.Pod) {
				p.Status.InitContainerStatuses = []corev1.ContainerStatus{{Name: "migrate", RestartCount: 2,
					State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}}}}
			}),
			status: Red, reason: ReasonCrashLoopBackOff, message: `init container "migrate" is in CrashLoopBackOff (restarted 2 times)`,
		},
		{
			name: "the most telling failure wins and the others are counted",
			build: func() (*appsv1.Deployment, []*appsv1.ReplicaSet, []*corev1.Pod, *autoscalingv2.HorizontalPodAutoscaler) {
				d, a, b := rollout(2, 2, 0)
				return d, []*appsv1.ReplicaSet{a, b}, []*corev1.Pod{
					rsPod(b, "1", waiting("ImagePullBackOff", "", 0)),
					rsPod(b, "2", waiting("CrashLoopBackOff", "", 2), lastTerminated("OOMKilled", 137)),
				}, nil
			},
			status: Red, reason: ReasonOOMKilled, message: "(and 1 more failing pods)",
		},
		{
			name:   "a failing new pod that is being deleted is not reported",
			build:  failingRollout(waiting("CrashLoopBackOff", "", 4), terminating),
			status: Orange, reason: ReasonProgressing,
		},
	}
}

func deploymentControllerCases() []deploymentCase {
	return []deploymentCase{
		{
			name: "progress deadline exceeded",
			build: func() (*appsv1.Deployment, []*appsv1.ReplicaSet, []*corev1.Pod, *autoscalingv2.HorizontalPodAutoscaler) {
				d, a, b, pods := slowRollout()
				d.Spec.ProgressDeadlineSeconds = ref(int32(5))
				d.Status.Conditions = []appsv1.DeploymentCondition{progressDeadlineExceeded()}
				return d, []*appsv1.ReplicaSet{a, b}, pods, nil
			},
			status: Red, reason: ReasonProgressDeadlineExceeded,
			message: `the rollout did not progress within 5s (1 of 2 replicas updated, 2 available): ReplicaSet "api-b" has timed out progressing.`,
		},
		{
			name: "a pod-level reason wins over the progress deadline",
			build: func() (*appsv1.Deployment, []*appsv1.ReplicaSet, []*corev1.Pod, *autoscalingv2.HorizontalPodAutoscaler) {
				d, rss, pods, _ := failingRollout(waiting("CrashLoopBackOff", "", 6))()
				d.Status.Conditions = []appsv1.DeploymentCondition{progressDeadlineExceeded()}
				return d, rss, pods, nil
			},
			status: Red, reason: ReasonCrashLoopBackOff,
		},
		{
			name: "replica failure",
			build: func() (*appsv1.Deployment, []*appsv1.ReplicaSet, []*corev1.Pod, *autoscalingv2.HorizontalPodAutoscaler) {
				d, a, b := rollout(2, 0, 2)
				d.Status.Conditions = append(d.Status.Conditions, appsv1.DeploymentCondition{
					Type: appsv1.DeploymentReplicaFailure, Status: corev1.ConditionTrue,
					Reason: "FailedCreate", Message: `pods "api-b-x" is forbidden: exceeded quota: compute`,
				})
				return d, []*appsv1.ReplicaSet{a, b}, []*corev1.Pod{rsPod(a, "1"), rsPod(a, "2")}, nil
			},
			status: Red, reason: "FailedCreate", message: "exceeded quota",
		},
		{
			name: "the new ReplicaSet cannot create pods before the Deployment says so",
			build: func() (*appsv1.Deployment, []*appsv1.ReplicaSet, []*corev1.Pod, *autoscalingv2.HorizontalPodAutoscaler) {
				d, a, b := rollout(2, 0, 2)
				b.Status.Conditions = []appsv1.ReplicaSetCondition{{
					Type: appsv1.ReplicaSetReplicaFailure, Status: corev1.ConditionTrue, Reason: "FailedCreate",
					Message: `pods "api-b-x" is forbidden: violates PodSecurity "restricted:latest": runAsNonRoot != true`,
				}}
				return d, []*appsv1.ReplicaSet{a, b}, []*corev1.Pod{rsPod(a, "1"), rsPod(a, "2")}, nil
			},
			status: Red, reason: "FailedCreate", message: "violates PodSecurity",
		},
	}
}

func slowRollout() (*appsv1.Deployment, *appsv1.ReplicaSet, *appsv1.ReplicaSet, []*corev1.Pod) {
	d, a, b := rollout(3, 1, 2)
	return d, a, b, []*corev1.Pod{rsPod(a, "1"), rsPod(a, "2"), rsPod(b, "1", notReady)}
}

func TestNewReplicaSetIgnoresOnlyTheHashLabel(t *testing.T) {
	d := deployment("2.0.0", 1)
	b := replicaSet(d, "2.0.0", "b", 1)
	if newReplicaSet(d, []*appsv1.ReplicaSet{b}) != b {
		t.Fatal("the ReplicaSet of the current template is not found")
	}
	b.Spec.Template.Labels["extra"] = "x"
	if newReplicaSet(d, []*appsv1.ReplicaSet{b}) != nil {
		t.Error("a ReplicaSet with another label is taken for the new one")
	}
	delete(b.Spec.Template.Labels, "extra")
	b.Spec.Template.Spec.Containers[0].Image = "other"
	if newReplicaSet(d, []*appsv1.ReplicaSet{b}) != nil {
		t.Error("a ReplicaSet with another image is taken for the new one")
	}
}
