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

// kubeEvents records Events about the operator's own Pod (POD_NAME, set by
// the install manifests through the downward API). Outside a Pod there is
// nothing to attach them to, and the logs carry the same facts.
type kubeEvents struct {
	recorder record.EventRecorder
	ref      *corev1.ObjectReference
}

func newEvents(ctx context.Context, client kubernetes.Interface, namespace string, log *slog.Logger) *kubeEvents {
	pod := os.Getenv("POD_NAME")
	if pod == "" {
		log.Info("events disabled", "reason", "POD_NAME not set")
		return nil
	}
	p, err := client.CoreV1().Pods(namespace).Get(ctx, pod, metav1.GetOptions{})
	if err != nil {
		log.Warn("events disabled", "reason", "cannot read own pod", "pod", pod, "error", err)
		return nil
	}
	b := record.NewBroadcaster()
	b.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: client.CoreV1().Events(namespace)})
	return &kubeEvents{
		recorder: b.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "envop"}),
		ref:      &corev1.ObjectReference{Kind: "Pod", Namespace: namespace, Name: pod, UID: p.UID, APIVersion: "v1"},
	}
}

func (e *kubeEvents) Normal(reason, message string) {
	if e != nil {
		e.recorder.Event(e.ref, corev1.EventTypeNormal, reason, message)
	}
}

// On records an Event about an object of the namespace.
func (e *kubeEvents) On(kind, name, eventType, reason, message string) {
	if e != nil {
		ref := &corev1.ObjectReference{Kind: kind, Namespace: e.ref.Namespace, Name: name}
		e.recorder.Event(ref, eventType, reason, message)
	}
}

func (e *kubeEvents) Warning(reason, message string) {
	if e != nil {
		e.recorder.Event(e.ref, corev1.EventTypeWarning, reason, message)
	}
}
