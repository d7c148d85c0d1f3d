package apply

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
)

// handOverReplicas keeps the replica count when a workload gains an HPA.
// The renderer then leaves spec.replicas out; if our manager owned it,
// server-side apply would remove the field and reset the count to the
// default of 1 before the HPA scales it back up. So the field is first
// applied, with its live value, by a second manager that keeps owning it;
// the HPA takes it from there. It costs one write, once, at the handover.
func (a *Applier) handOverReplicas(ctx context.Context, ri dynamic.ResourceInterface, desired, live *unstructured.Unstructured) error {
	if live == nil || !scalable(desired.GetKind()) {
		return nil
	}
	if _, found, _ := unstructured.NestedFieldNoCopy(desired.Object, "spec", "replicas"); found {
		return nil
	}
	if !a.ownsReplicas(live) {
		return nil
	}
	// Listed objects carry metadata only: read the replica count itself.
	full, err := ri.Get(ctx, desired.GetName(), metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("read replicas: %w", err)
	}
	replicas, found, err := unstructured.NestedInt64(full.Object, "spec", "replicas")
	if err != nil || !found {
		return nil
	}
	patch := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": desired.GetAPIVersion(),
		"kind":       desired.GetKind(),
		"metadata":   map[string]any{"name": desired.GetName(), "namespace": desired.GetNamespace()},
		"spec":       map[string]any{"replicas": replicas},
	}}
	_, err = ri.Apply(ctx, desired.GetName(), patch, metav1.ApplyOptions{FieldManager: a.handoverManager(), Force: true})
	if err != nil {
		return fmt.Errorf("hand replicas over: %w", err)
	}
	a.opts.Logger.Info("replicas handed over", "kind", desired.GetKind(), "name", desired.GetName(), "replicas", replicas)
	return nil
}

func (a *Applier) handoverManager() string { return a.opts.FieldManager + "-replicas-handover" }

func scalable(kind string) bool { return kind == "Deployment" || kind == "StatefulSet" }

// ownsReplicas says whether our Apply entry owns spec.replicas.
func (a *Applier) ownsReplicas(live *unstructured.Unstructured) bool {
	entry, ok := a.ownEntry(live)
	if !ok {
		return false
	}
	spec := map[string]any{"spec": map[string]any{"replicas": int64(1)}}
	return ownsAll(entry, spec)
}
