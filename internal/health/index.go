package health

import (
	"cmp"
	"slices"

	"github.com/envop/envop/internal/render"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
)

// Indexes on the informer caches, so finding a workload's objects costs a
// map lookup, not a scan of the namespace.
const (
	// indexInstance: workloads by instanceOf.
	indexInstance = "instance"
	// indexOwner: ReplicaSets, pods and Jobs by their controller's UID.
	indexOwner = "owner"
	// indexTarget: HPAs by the Kind/Name of their scale target.
	indexTarget = "target"
)

func byInstance(obj any) ([]string, error) {
	o, err := meta.Accessor(obj)
	if err != nil {
		return nil, err
	}
	return []string{instanceOf(o)}, nil
}

func byOwner(obj any) ([]string, error) {
	o, err := meta.Accessor(obj)
	if err != nil {
		return nil, err
	}
	if uid := controllerUID(o); uid != "" {
		return []string{string(uid)}, nil
	}
	return nil, nil
}

func byTarget(obj any) ([]string, error) {
	hpa, ok := obj.(*autoscalingv2.HorizontalPodAutoscaler)
	if !ok {
		return nil, nil
	}
	return []string{targetKey(hpa.Spec.ScaleTargetRef.Kind, hpa.Spec.ScaleTargetRef.Name)}, nil
}

func targetKey(kind, name string) string { return kind + "/" + name }

// Key functions name the workloads a changed object may change the health
// of; none means any of them.

func workloadKeys(o metav1.Object) []string { return []string{instanceOf(o)} }

// memberKeys: pods and ReplicaSets carry their workload's template labels.
func memberKeys(o metav1.Object) []string {
	if instance := o.GetLabels()[render.LabelInstance]; instance != "" {
		return []string{instance}
	}
	return nil
}

func hpaKeys(o metav1.Object) []string {
	keys := memberKeys(o)
	if hpa, ok := o.(*autoscalingv2.HorizontalPodAutoscaler); ok {
		keys = append(keys, hpa.Spec.ScaleTargetRef.Name)
	}
	return keys
}

// indexed returns the objects of type T under key in index, sorted by name
// so that every choice among them is stable.
func indexed[T metav1.Object](inf cache.SharedIndexInformer, index, key string) []T {
	items, err := inf.GetIndexer().ByIndex(index, key)
	if err != nil { // only for an index never registered: a bug caught by the tests
		return nil
	}
	out := make([]T, 0, len(items))
	for _, item := range items {
		if t, ok := item.(T); ok {
			out = append(out, t)
		}
	}
	slices.SortFunc(out, func(a, b T) int { return cmp.Compare(a.GetName(), b.GetName()) })
	return out
}

func first[T any](items []T) (T, bool) {
	var zero T
	if len(items) == 0 {
		return zero, false
	}
	return items[0], true
}

// standaloneJobs drops the Jobs a CronJob runs: they are its runs, not
// workloads of their own.
func standaloneJobs(jobs []*batchv1.Job) []*batchv1.Job {
	return slices.DeleteFunc(jobs, func(j *batchv1.Job) bool {
		ref := metav1.GetControllerOfNoCopy(j)
		return ref != nil && ref.Kind == KindCronJob
	})
}

// dropManagedFields keeps the caches lean: nothing here reads them.
func dropManagedFields(obj any) (any, error) {
	if o, err := meta.Accessor(obj); err == nil {
		o.SetManagedFields(nil)
	}
	return obj, nil
}
