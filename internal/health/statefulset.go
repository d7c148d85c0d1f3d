package health

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// EvaluateStatefulSet computes the health of s from the pods it owns.
//
// Green when the controller observed the current generation, every replica
// runs the update revision (updateRevision == currentRevision) and is
// ready. Red when a pod of the update revision cannot run: StatefulSets
// have no progress deadline, a broken pod blocks the rollout for good. With
// the OnDelete strategy the revisions only converge once someone deletes
// the old pods, so such a StatefulSet stays orange until then.
func EvaluateStatefulSet(s *appsv1.StatefulSet, pods []*corev1.Pod) Workload {
	w := newWorkload(KindStatefulSet, &s.ObjectMeta, &s.Spec.Template)
	w.ObservedGeneration = s.Status.ObservedGeneration
	w.Replicas = Replicas{
		Desired:   replicasOrOne(s.Spec.Replicas),
		Updated:   s.Status.UpdatedReplicas,
		Ready:     s.Status.ReadyReplicas,
		Available: s.Status.AvailableReplicas,
	}
	w.Pods = summarizePods(pods)
	w.Status, w.Reason, w.Message = statefulSetVerdict(s, w.Replicas, pods)
	return w
}

func statefulSetVerdict(s *appsv1.StatefulSet, r Replicas, pods []*corev1.Pod) (Status, string, string) {
	update := s.Status.UpdateRevision
	isNew := func(p *corev1.Pod) bool {
		return update == "" || p.Labels[appsv1.ControllerRevisionHashLabelKey] == update
	}
	if f, n, ok := worstFailure(pods, isNew); ok {
		return Red, f.reason, failureMessage(f, n)
	}
	if statefulSetComplete(s, r) {
		return Green, "", ""
	}
	return Orange, ReasonProgressing, statefulSetProgress(s, r)
}

func statefulSetComplete(s *appsv1.StatefulSet, r Replicas) bool {
	st := s.Status
	return st.ObservedGeneration >= s.Generation &&
		st.UpdateRevision == st.CurrentRevision &&
		st.UpdatedReplicas == r.Desired &&
		st.Replicas == r.Desired &&
		st.ReadyReplicas >= r.Desired
}

func statefulSetProgress(s *appsv1.StatefulSet, r Replicas) string {
	st := s.Status
	switch {
	case st.ObservedGeneration < s.Generation:
		return fmt.Sprintf("waiting for the statefulset controller to observe generation %d", s.Generation)
	case st.UpdatedReplicas < r.Desired:
		return fmt.Sprintf("%d of %d replicas updated", st.UpdatedReplicas, r.Desired)
	case st.ReadyReplicas < r.Desired:
		return fmt.Sprintf("%d of %d replicas ready", st.ReadyReplicas, r.Desired)
	case st.Replicas != r.Desired:
		return fmt.Sprintf("scaling from %d to %d replicas", st.Replicas, r.Desired)
	default:
		return fmt.Sprintf("waiting for revision %s to become current", st.UpdateRevision)
	}
}
