package health

import (
	"cmp"

	"github.com/envop/envop/internal/render"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// newWorkload fills what every kind shares: names from the object's labels,
// the version from its pod template's.
func newWorkload(kind string, obj *metav1.ObjectMeta, template *corev1.PodTemplateSpec) Workload {
	return Workload{
		Service:    cmp.Or(obj.Labels[render.LabelName], obj.Name),
		Name:       instanceOf(obj),
		Kind:       kind,
		Version:    template.Labels[render.LabelVersion],
		Generation: obj.Generation,
	}
}

// instanceOf is the workload name an object belongs to: its instance label,
// or its own name when unlabelled.
func instanceOf(obj metav1.Object) string {
	return cmp.Or(obj.GetLabels()[render.LabelInstance], obj.GetName())
}

// controllerUID is the UID of obj's controlling owner, empty when none.
func controllerUID(obj metav1.Object) types.UID {
	if ref := metav1.GetControllerOfNoCopy(obj); ref != nil {
		return ref.UID
	}
	return ""
}

// replicasOrOne is the API server's default for an unset replica count.
func replicasOrOne(n *int32) int32 {
	if n == nil {
		return 1
	}
	return *n
}
