package health

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func statefulSet(n int32) *appsv1.StatefulSet {
	return &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "shop", UID: "s-uid", Generation: 3, Labels: labelsOf("db", "db", "16.1")},
		Spec:       appsv1.StatefulSetSpec{Replicas: ref(n), Template: template("db", "16.1")},
		Status: appsv1.StatefulSetStatus{
			ObservedGeneration: 3, Replicas: n, UpdatedReplicas: n, ReadyReplicas: n, AvailableReplicas: n, CurrentReplicas: n,
			CurrentRevision: "db-new", UpdateRevision: "db-new",
		},
	}
}

// ordinalPod is pod i of s at revision.
func ordinalPod(s *appsv1.StatefulSet, i, revision string, opts ...podOption) *corev1.Pod {
	rs := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: s.Name, UID: s.UID}, Spec: appsv1.ReplicaSetSpec{Template: s.Spec.Template}}
	p := rsPod(rs, i, opts...)
	p.Labels = map[string]string{appsv1.ControllerRevisionHashLabelKey: revision}
	p.OwnerReferences = []metav1.OwnerReference{controllerRef("StatefulSet", s.Name, s.UID)}
	return p
}

func TestEvaluateStatefulSet(t *testing.T) {
	rollingFrom := func(s *appsv1.StatefulSet) *appsv1.StatefulSet {
		s.Status.CurrentRevision, s.Status.UpdatedReplicas, s.Status.ReadyReplicas = "db-old", 1, 1
		return s
	}
	tests := []struct {
		name           string
		s              *appsv1.StatefulSet
		pods           func(*appsv1.StatefulSet) []*corev1.Pod
		status         Status
		reason, substr string
	}{
		{"complete", statefulSet(2), func(s *appsv1.StatefulSet) []*corev1.Pod {
			return []*corev1.Pod{ordinalPod(s, "0", "db-new"), ordinalPod(s, "1", "db-new")}
		}, Green, "", ""},
		{"revision not current yet", rollingFrom(statefulSet(2)), func(s *appsv1.StatefulSet) []*corev1.Pod {
			return []*corev1.Pod{ordinalPod(s, "0", "db-old"), ordinalPod(s, "1", "db-new", notReady)}
		}, Orange, ReasonProgressing, "1 of 2 replicas updated"},
		{"updated and ready but revisions not converged", func() *appsv1.StatefulSet {
			s := statefulSet(2)
			s.Status.CurrentRevision = "db-old"
			return s
		}(), nil, Orange, ReasonProgressing, "waiting for revision db-new"},
		{"observed generation lags", func() *appsv1.StatefulSet {
			s := statefulSet(2)
			s.Generation = 4
			return s
		}(), nil, Orange, ReasonProgressing, "observe generation 4"},
		{"crash loop at the update revision", rollingFrom(statefulSet(2)), func(s *appsv1.StatefulSet) []*corev1.Pod {
			return []*corev1.Pod{ordinalPod(s, "0", "db-old"), ordinalPod(s, "1", "db-new", waiting("CrashLoopBackOff", "", 5))}
		}, Red, ReasonCrashLoopBackOff, "restarted 5 times"},
		{"crash loop at the old revision is ignored", rollingFrom(statefulSet(2)), func(s *appsv1.StatefulSet) []*corev1.Pod {
			return []*corev1.Pod{ordinalPod(s, "0", "db-old", waiting("CrashLoopBackOff", "", 5)), ordinalPod(s, "1", "db-new")}
		}, Orange, ReasonProgressing, ""},
		{"zero replicas", statefulSet(0), nil, Green, "", ""},
		{"no status at all", func() *appsv1.StatefulSet {
			s := statefulSet(1)
			s.Status = appsv1.StatefulSetStatus{}
			return s
		}(), func(s *appsv1.StatefulSet) []*corev1.Pod {
			return []*corev1.Pod{ordinalPod(s, "0", "", unschedulable("no nodes"))}
		}, Red, ReasonUnschedulable, "no nodes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var pods []*corev1.Pod
			if tc.pods != nil {
				pods = tc.pods(tc.s)
			}
			w := EvaluateStatefulSet(tc.s, pods)
			if w.Status != tc.status || w.Reason != tc.reason || !strings.Contains(w.Message, tc.substr) {
				t.Errorf("got %s %q %q, want %s %q with %q", w.Status, w.Reason, w.Message, tc.status, tc.reason, tc.substr)
			}
			if w.Kind != KindStatefulSet || w.Name != "db" || w.Version != "16.1" {
				t.Errorf("identity = %s %s %s", w.Kind, w.Name, w.Version)
			}
		})
	}
}
