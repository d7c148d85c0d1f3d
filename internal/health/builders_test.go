package health

import (
	"time"

	"github.com/envop/envop/internal/render"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Hand-built objects for the pure tests: what the API server and the
// controllers would store, reduced to the fields the rules read.

var epoch = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func labelsOf(service, instance, version string) map[string]string {
	return map[string]string{
		render.LabelName:        service,
		render.LabelInstance:    instance,
		render.LabelVersion:     version,
		render.LabelManagedBy:   render.ManagedBy,
		render.LabelEnvironment: "dev",
	}
}

func template(instance, version string) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: labelsOf("api", instance, version)},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name:  "app",
			Image: "registry.example.com/api:" + version,
			Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{
				corev1.ResourceMemory: resource.MustParse("256Mi"),
			}},
		}}},
	}
}

// deployment is a Deployment at generation 2 whose rollout of version is
// complete with n replicas; tests break what they need.
func deployment(version string, n int32) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{
			Name: "api", Namespace: "shop", UID: "d-uid", Generation: 2,
			Labels: labelsOf("api", "api", version),
		},
		Spec: appsv1.DeploymentSpec{
			Replicas: ref(n),
			Template: template("api", version),
		},
		Status: appsv1.DeploymentStatus{
			ObservedGeneration: 2, Replicas: n, UpdatedReplicas: n, ReadyReplicas: n, AvailableReplicas: n,
			Conditions: []appsv1.DeploymentCondition{
				{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue, Reason: "MinimumReplicasAvailable"},
				{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionTrue, Reason: "NewReplicaSetAvailable"},
			},
		},
	}
}

// replicaSet of d for version, with the controller's hash label.
func replicaSet(d *appsv1.Deployment, version, hash string, created int) *appsv1.ReplicaSet {
	tpl := template("api", version)
	tpl.Labels[appsv1.DefaultDeploymentUniqueLabelKey] = hash
	return &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{
			Name: "api-" + hash, Namespace: d.Namespace, UID: types.UID("rs-" + hash),
			Labels:            tpl.Labels,
			CreationTimestamp: metav1.NewTime(epoch.Add(time.Duration(created) * time.Minute)),
			OwnerReferences:   []metav1.OwnerReference{controllerRef("Deployment", d.Name, d.UID)},
		},
		Spec: appsv1.ReplicaSetSpec{Template: tpl},
	}
}

func controllerRef(kind, name string, uid types.UID) metav1.OwnerReference {
	return metav1.OwnerReference{Kind: kind, Name: name, UID: uid, Controller: ref(true)}
}

// podOption changes a running, ready pod into what a test needs.
type podOption func(*corev1.Pod)

func rsPod(rs *appsv1.ReplicaSet, suffix string, opts ...podOption) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: rs.Name + "-" + suffix, Namespace: rs.Namespace, Labels: rs.Spec.Template.Labels,
			OwnerReferences: []metav1.OwnerReference{controllerRef("ReplicaSet", rs.Name, rs.UID)},
		},
		Spec: *rs.Spec.Template.Spec.DeepCopy(),
		Status: corev1.PodStatus{
			Phase:     corev1.PodRunning,
			StartTime: ref(metav1.NewTime(epoch)),
			Conditions: []corev1.PodCondition{
				{Type: corev1.PodScheduled, Status: corev1.ConditionTrue},
				{Type: corev1.PodReady, Status: corev1.ConditionTrue},
			},
			ContainerStatuses: []corev1.ContainerStatus{{
				Name: "app", Ready: true,
				State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(epoch)}},
			}},
		},
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

func notReady(p *corev1.Pod) {
	p.Status.Conditions[1] = corev1.PodCondition{Type: corev1.PodReady, Status: corev1.ConditionFalse, Reason: "ContainersNotReady", Message: "containers with unready status: [app]"}
	p.Status.ContainerStatuses[0].Ready = false
}

func waiting(reason, message string, restarts int32) podOption {
	return func(p *corev1.Pod) {
		notReady(p)
		cs := &p.Status.ContainerStatuses[0]
		cs.RestartCount = restarts
		cs.State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: message}}
	}
}

func lastTerminated(reason string, code int32) podOption {
	return func(p *corev1.Pod) {
		p.Status.ContainerStatuses[0].LastTerminationState = corev1.ContainerState{
			Terminated: &corev1.ContainerStateTerminated{Reason: reason, ExitCode: code},
		}
	}
}

func unschedulable(message string) podOption {
	return func(p *corev1.Pod) {
		p.Status = corev1.PodStatus{
			Phase: corev1.PodPending,
			Conditions: []corev1.PodCondition{{
				Type: corev1.PodScheduled, Status: corev1.ConditionFalse,
				Reason: corev1.PodReasonUnschedulable, Message: message,
			}},
		}
	}
}

func terminating(p *corev1.Pod) {
	p.DeletionTimestamp = ref(metav1.NewTime(epoch))
}

func job(version string) *batchv1.Job {
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{
			Name: "migrate-" + version, Namespace: "shop", UID: types.UID("job-" + version), Generation: 1,
			Labels:            labelsOf("migrate", "migrate", version),
			CreationTimestamp: metav1.NewTime(epoch),
		},
		Spec: batchv1.JobSpec{Template: template("migrate", version)},
	}
}

func jobPod(j *batchv1.Job, opts ...podOption) *corev1.Pod {
	rs := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: j.Name, UID: j.UID}, Spec: appsv1.ReplicaSetSpec{Template: j.Spec.Template}}
	p := rsPod(rs, "x", opts...)
	p.OwnerReferences = []metav1.OwnerReference{controllerRef("Job", j.Name, j.UID)}
	return p
}

func withCondition(j *batchv1.Job, t batchv1.JobConditionType, reason, message string) *batchv1.Job {
	j.Status.Conditions = append(j.Status.Conditions, batchv1.JobCondition{Type: t, Status: corev1.ConditionTrue, Reason: reason, Message: message})
	return j
}

func ref[T any](v T) *T { return &v }
