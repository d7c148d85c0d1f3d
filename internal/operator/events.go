package operator

import (
	"context"
	"log/slog"
	"os"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/record"
)

// kubeEvents records Events through client-go's EventBroadcaster, whose
// correlator aggregates repeated Events and rate-limits them per object,
// so a refusal that repeats on every retry never becomes a write storm.
// Events about the environment go on the operator's own Pod (POD_NAME, set
// by the install manifests through the downward API); outside a Pod there
// is nothing to attach them to, and the logs carry the same facts. Events
// about objects of the namespace need no Pod.
type kubeEvents struct {
	recorder  record.EventRecorder
	namespace string
	pod       *corev1.ObjectReference
}

// newEvents records Events until ctx ends.
func newEvents(ctx context.Context, client kubernetes.Interface, namespace string, log *slog.Logger) *kubeEvents {
	b := record.NewBroadcaster(record.WithContext(ctx))
	b.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: client.CoreV1().Events(namespace)})
	e := &kubeEvents{recorder: b.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "envop"}), namespace: namespace}
	pod := os.Getenv("POD_NAME")
	if pod == "" {
		log.Info("environment events disabled", "reason", "POD_NAME not set")
		return e
	}
	p, err := client.CoreV1().Pods(namespace).Get(ctx, pod, metav1.GetOptions{})
	if err != nil {
		log.Warn("environment events disabled", "reason", "cannot read own pod", "pod", pod, "error", err)
		return e
	}
	e.pod = &corev1.ObjectReference{Kind: "Pod", Namespace: namespace, Name: pod, UID: p.UID, APIVersion: "v1"}
	return e
}

func (e *kubeEvents) Normal(reason, message string) {
	if e.pod != nil {
		e.recorder.Event(e.pod, corev1.EventTypeNormal, reason, message)
	}
}

func (e *kubeEvents) Warning(reason, message string) {
	if e.pod != nil {
		e.recorder.Event(e.pod, corev1.EventTypeWarning, reason, message)
	}
}

// On records an Event about an object of the namespace. The reference
// carries no UID: `kubectl events --for KIND/NAME` selects by kind and name,
// and an object pruned or never created has none.
func (e *kubeEvents) On(kind, name, eventType, reason, message string) {
	ref := &corev1.ObjectReference{Kind: kind, Namespace: e.namespace, Name: name, APIVersion: apiVersions[kind]}
	e.recorder.Event(ref, eventType, reason, message)
}

// apiVersions of the kinds envop applies, for the Events' references.
var apiVersions = map[string]string{
	"Deployment": "apps/v1", "StatefulSet": "apps/v1", "Job": "batch/v1", "CronJob": "batch/v1",
	"Service": "v1", "ConfigMap": "v1", "Secret": "v1", "ServiceAccount": "v1", "PersistentVolumeClaim": "v1",
	"Ingress": "networking.k8s.io/v1", "NetworkPolicy": "networking.k8s.io/v1",
	"HorizontalPodAutoscaler": "autoscaling/v2", "PodDisruptionBudget": "policy/v1",
	"Role": "rbac.authorization.k8s.io/v1", "RoleBinding": "rbac.authorization.k8s.io/v1",
}
