package apply

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/envop/envop/internal/render"
	"github.com/envop/envop/internal/testcluster"
)

// envopObject is a desired object of this environment.
func envopObject(ns, kind, apiVersion, name string, body map[string]any) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: body}
	u.SetAPIVersion(apiVersion)
	u.SetKind(kind)
	u.SetName(name)
	u.SetNamespace(ns)
	u.SetLabels(map[string]string{render.LabelManagedBy: render.ManagedBy, render.LabelEnvironment: testEnv,
		render.LabelName: name, render.LabelInstance: name})
	return u
}

// TestOriginalObjectsTakenOver: an object the original Environment Operator
// made (creator: pipeline) is taken over without adopt: its fields move to
// envop's manager, so the apply leaves it as desired (the original's data
// and labels gone); its claim is taken over as it is, never written.
func TestOriginalObjectsTakenOver(t *testing.T) {
	ns := testcluster.Namespace(t)
	c := testcluster.Get(t).Client
	original := map[string]string{"creator": "pipeline", "name": "conf", "deployment": "web"}
	create := metav1.CreateOptions{FieldManager: "environment-operator"}
	if _, err := c.CoreV1().ConfigMaps(ns).Create(t.Context(), &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "conf", Labels: original},
		Data:       map[string]string{"old.properties": "a=1", "app.properties": "b=1"},
	}, create); err != nil {
		t.Fatal(err)
	}
	class := "aws-ebs"
	if _, err := c.CoreV1().PersistentVolumeClaims(ns).Create(t.Context(), &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "data", Labels: map[string]string{"creator": "pipeline", "deployment": "web"}},
		Spec: corev1.PersistentVolumeClaimSpec{StorageClassName: &class,
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{
				corev1.ResourceStorage: resource.MustParse("1Gi")}}},
	}, create); err != nil {
		t.Fatal(err)
	}
	objs := []*unstructured.Unstructured{
		envopObject(ns, "ConfigMap", "v1", "conf", map[string]any{"data": map[string]any{"app.properties": "b=2"}}),
		envopObject(ns, "PersistentVolumeClaim", "v1", "data", map[string]any{"spec": map[string]any{
			"accessModes": []any{"ReadWriteOnce"}, "storageClassName": "gp3",
			"resources": map[string]any{"requests": map[string]any{"storage": "1Gi"}}}}),
	}
	a, writes := newApplier(t, testcluster.Get(t).Config, Options{Namespace: ns})
	cs := a.Apply(t.Context(), objs, nil)
	if err := cs.Err(); err != nil {
		t.Fatalf("apply over the original's objects: %v", err)
	}
	cm, err := c.CoreV1().ConfigMaps(ns).Get(t.Context(), "conf", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(cm.Data) != 1 || cm.Data["app.properties"] != "b=2" {
		t.Errorf("ConfigMap data after the takeover = %v, want only the file's", cm.Data)
	}
	if cm.Labels["creator"] != "" || cm.Labels[render.LabelManagedBy] != render.ManagedBy {
		t.Errorf("ConfigMap labels after the takeover = %v, want envop's only", cm.Labels)
	}
	for _, e := range cm.ManagedFields {
		if e.Manager == "environment-operator" {
			t.Errorf("the original's manager still owns fields: %+v", e)
		}
	}
	pvc, err := c.CoreV1().PersistentVolumeClaims(ns).Get(t.Context(), "data", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if *pvc.Spec.StorageClassName != "aws-ebs" || pvc.Labels["creator"] != "pipeline" || pvc.Labels[render.LabelManagedBy] != "" {
		t.Errorf("the original's claim was written: class %s, labels %v", *pvc.Spec.StorageClassName, pvc.Labels)
	}
	writes.reset()
	cs = a.Apply(t.Context(), objs, nil)
	requireCounts(t, cs, map[Action]int{Unchanged: 2})
	if w := writes.reset(); len(w) != 0 {
		t.Errorf("the next apply wrote %v, want nothing", w)
	}
}
