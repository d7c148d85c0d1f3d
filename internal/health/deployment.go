package health

import (
	"cmp"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/types"
)

// EvaluateDeployment computes the health of d from its ReplicaSets, the pods
// they own, and hpa (nil when none scales d).
//
// Green only when the rollout of the current spec is complete: the
// controller observed the current generation, every desired replica is
// updated and available and no other pod is left. Red as soon as a pod of
// the new ReplicaSet cannot run, or the controller gave up
// (ProgressDeadlineExceeded, ReplicaFailure). The desired count is
// spec.replicas, which is the HPA's choice when an HPA manages d.
func EvaluateDeployment(d *appsv1.Deployment, rss []*appsv1.ReplicaSet, pods []*corev1.Pod, hpa *autoscalingv2.HorizontalPodAutoscaler) Workload {
	w := newWorkload(KindDeployment, &d.ObjectMeta, &d.Spec.Template)
	w.ObservedGeneration = d.Status.ObservedGeneration
	w.Replicas = Replicas{
		Desired:   deploymentDesired(d, hpa),
		Updated:   d.Status.UpdatedReplicas,
		Ready:     d.Status.ReadyReplicas,
		Available: d.Status.AvailableReplicas,
	}
	w.Pods = summarizePods(pods)
	w.Status, w.Reason, w.Message = deploymentVerdict(d, w.Replicas, pods, newReplicaSet(d, rss))
	return w
}

func deploymentDesired(d *appsv1.Deployment, hpa *autoscalingv2.HorizontalPodAutoscaler) int32 {
	if d.Spec.Replicas == nil && hpa != nil && hpa.Status.DesiredReplicas > 0 {
		return hpa.Status.DesiredReplicas
	}
	return replicasOrOne(d.Spec.Replicas)
}

// deploymentVerdict applies the rules in order: a failing new pod is the
// most precise reason, so it wins over the controller's conditions.
func deploymentVerdict(d *appsv1.Deployment, r Replicas, pods []*corev1.Pod, newRS *appsv1.ReplicaSet) (Status, string, string) {
	var newUID types.UID
	if newRS != nil {
		newUID = newRS.UID
	}
	isNew := func(p *corev1.Pod) bool { return newUID != "" && controllerUID(p) == newUID }
	if f, n, ok := worstFailure(pods, isNew); ok {
		return Red, f.reason, failureMessage(f, n)
	}
	old := countPods(pods, func(p *corev1.Pod) bool { return !isNew(p) && live(p) })
	if deploymentComplete(d, r) && old == 0 {
		return Green, "", ""
	}
	if reason, msg, ok := replicaFailure(newRS); ok {
		return Red, reason, msg
	}
	if reason, msg, ok := deploymentStuck(d, r); ok {
		return Red, reason, msg
	}
	if d.Spec.Paused {
		return Orange, ReasonPaused, "the rollout is paused"
	}
	return Orange, ReasonProgressing, deploymentProgress(d, r, old)
}

func deploymentComplete(d *appsv1.Deployment, r Replicas) bool {
	s := d.Status
	return s.ObservedGeneration >= d.Generation &&
		s.UpdatedReplicas == r.Desired &&
		s.Replicas == r.Desired &&
		s.AvailableReplicas >= r.Desired
}

// deploymentStuck reads the controller's verdict. Its conditions describe
// the generation it observed, so they only count once that is current.
func deploymentStuck(d *appsv1.Deployment, r Replicas) (reason, msg string, ok bool) {
	if d.Status.ObservedGeneration < d.Generation {
		return "", "", false
	}
	for _, c := range d.Status.Conditions {
		switch {
		case c.Type == appsv1.DeploymentProgressing && c.Status == corev1.ConditionFalse && c.Reason == ReasonProgressDeadlineExceeded:
			msg := fmt.Sprintf("the rollout did not progress within %ds (%d of %d replicas updated, %d available)",
				progressDeadline(d), d.Status.UpdatedReplicas, r.Desired, d.Status.AvailableReplicas)
			return ReasonProgressDeadlineExceeded, withDetail(msg, c.Message), true
		case c.Type == appsv1.DeploymentReplicaFailure && c.Status == corev1.ConditionTrue:
			return cmp.Or(c.Reason, "ReplicaFailure"), c.Message, true
		}
	}
	return "", "", false
}

// replicaFailure reads the new ReplicaSet's own verdict: it cannot create
// its pods (FailedCreate: Pod Security, a pod quota, a webhook on pods).
// The deployment controller copies the condition to the Deployment later;
// read here, the rollout is red as soon as the ReplicaSet controller knows.
func replicaFailure(rs *appsv1.ReplicaSet) (reason, msg string, ok bool) {
	if rs == nil {
		return "", "", false
	}
	for _, c := range rs.Status.Conditions {
		if c.Type == appsv1.ReplicaSetReplicaFailure && c.Status == corev1.ConditionTrue {
			return cmp.Or(c.Reason, "ReplicaFailure"), c.Message, true
		}
	}
	return "", "", false
}

func progressDeadline(d *appsv1.Deployment) int32 {
	if d.Spec.ProgressDeadlineSeconds == nil {
		return 600
	}
	return *d.Spec.ProgressDeadlineSeconds
}

// deploymentProgress says what the rollout waits for, in the order the
// controller works through it.
func deploymentProgress(d *appsv1.Deployment, r Replicas, oldPods int) string {
	s := d.Status
	switch {
	case s.ObservedGeneration < d.Generation:
		return fmt.Sprintf("waiting for the deployment controller to observe generation %d", d.Generation)
	case s.UpdatedReplicas < r.Desired:
		return fmt.Sprintf("%d of %d replicas updated", s.UpdatedReplicas, r.Desired)
	case s.Replicas > s.UpdatedReplicas:
		return fmt.Sprintf("%d old replicas pending termination", s.Replicas-s.UpdatedReplicas)
	case oldPods > 0:
		return fmt.Sprintf("%d old pods pending termination", oldPods)
	case s.AvailableReplicas < r.Desired:
		return fmt.Sprintf("%d of %d updated replicas available", s.AvailableReplicas, r.Desired)
	default:
		return fmt.Sprintf("scaling from %d to %d replicas", s.Replicas, r.Desired)
	}
}

// newReplicaSet finds the ReplicaSet of d's current template the way the
// deployment controller does: equal templates once the pod-template-hash
// label is set aside. The oldest wins should there be several.
func newReplicaSet(d *appsv1.Deployment, rss []*appsv1.ReplicaSet) *appsv1.ReplicaSet {
	var found *appsv1.ReplicaSet
	for _, rs := range rss {
		if !equalIgnoreHash(&rs.Spec.Template, &d.Spec.Template) {
			continue
		}
		if found == nil || rs.CreationTimestamp.Before(&found.CreationTimestamp) {
			found = rs
		}
	}
	return found
}

// equalIgnoreHash compares templates without copying them: shallow copies
// with the labels set aside, then the labels without the hash.
func equalIgnoreHash(a, b *corev1.PodTemplateSpec) bool {
	if !labelsEqualIgnoreHash(a.Labels, b.Labels) {
		return false
	}
	x, y := *a, *b
	x.Labels, y.Labels = nil, nil
	return equality.Semantic.DeepEqual(x, y)
}

func labelsEqualIgnoreHash(a, b map[string]string) bool {
	n := 0
	for k, v := range a {
		if k == appsv1.DefaultDeploymentUniqueLabelKey {
			continue
		}
		if w, ok := b[k]; !ok || w != v {
			return false
		}
		n++
	}
	m := len(b)
	if _, ok := b[appsv1.DefaultDeploymentUniqueLabelKey]; ok {
		m--
	}
	return n == m
}

func countPods(pods []*corev1.Pod, keep func(*corev1.Pod) bool) int {
	n := 0
	for _, p := range pods {
		if keep(p) {
			n++
		}
	}
	return n
}

// live pods still run or may: not terminating, not finished (an evicted pod
// stays Failed until collected, it is not a replica).
func live(p *corev1.Pod) bool {
	return p.DeletionTimestamp == nil && p.Status.Phase != corev1.PodFailed && p.Status.Phase != corev1.PodSucceeded
}
