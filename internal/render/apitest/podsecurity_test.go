package apitest

import (
	"os"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	"github.com/envop/envop/internal/manifest"
	"github.com/envop/envop/internal/render"
	"github.com/envop/envop/internal/testcluster"
)

// TestPodSecurityAdmission creates, as a dry run, a Pod of every rendered
// pod template in a namespace enforcing the Pod Security Standard of the
// environment's pod_security level: the API server's Pod Security
// Admission accepts each one. The environment has every workload kind,
// init containers, and Secret, ConfigMap and claim volumes. The controls,
// which show the namespaces really enforce: the baseline rendering is
// refused where restricted is enforced, and a rendered pod put on the host
// network is refused where baseline is.
func TestPodSecurityAdmission(t *testing.T) {
	levels := []string{manifest.PodSecurityBaseline, manifest.PodSecurityRestricted}
	namespaces := map[string]string{}
	for _, level := range levels {
		namespaces[level] = enforcingNamespace(t, level)
	}
	for _, level := range levels {
		t.Run(level, func(t *testing.T) {
			pods := renderedPods(t, level, namespaces[level])
			for _, pod := range pods {
				if err := dryRunCreate(t, pod); err != nil {
					t.Errorf("pod of %s refused under %s: %v", pod.Name, level, err)
				}
			}
			t.Logf("%d pods accepted under %s", len(pods), level)
		})
	}
	t.Run("host network under baseline", func(t *testing.T) {
		pod := renderedPods(t, manifest.PodSecurityBaseline, namespaces[manifest.PodSecurityBaseline])[0]
		pod.Spec.HostNetwork = true
		if err := dryRunCreate(t, pod); !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "baseline") {
			t.Errorf("a pod on the host network: want refused by the baseline standard, got %v", err)
		}
	})
	t.Run("baseline pods under restricted", func(t *testing.T) {
		for _, pod := range renderedPods(t, manifest.PodSecurityBaseline, namespaces[manifest.PodSecurityRestricted]) {
			if err := dryRunCreate(t, pod); !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "restricted") {
				t.Errorf("pod of %s: want refused by the restricted standard, got %v", pod.Name, err)
			}
		}
	})
}

// enforcingNamespace is a new namespace whose pods must meet level.
func enforcingNamespace(t *testing.T, level string) string {
	t.Helper()
	ns := testcluster.Namespace(t)
	patch := []byte(`{"metadata":{"labels":{"pod-security.kubernetes.io/enforce":"` + level + `"}}}`)
	_, err := testcluster.Get(t).Client.CoreV1().Namespaces().Patch(t.Context(), ns, types.MergePatchType, patch, metav1.PatchOptions{})
	if err != nil {
		t.Fatalf("label namespace %s: %v", ns, err)
	}
	return ns
}

// renderedPods renders ../testdata/restricted.bitesize at level into ns
// and returns a Pod per rendered pod template.
func renderedPods(t *testing.T, level, ns string) []*corev1.Pod {
	t.Helper()
	data, err := os.ReadFile("../testdata/restricted.bitesize")
	if err != nil {
		t.Fatal(err)
	}
	f, diags := manifest.Load("restricted.bitesize", data)
	if diags.HasErrors() {
		t.Fatal(diags.Errors())
	}
	env := &f.Environments[0]
	env.Namespace, env.PodSecurity = ns, level
	res, err := render.Render(env, f.Project, render.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var pods []*corev1.Pod
	for _, o := range res.Objects {
		if pod := podOf(t, o); pod != nil {
			pods = append(pods, pod)
		}
	}
	if len(pods) < 7 {
		t.Fatalf("%d pod templates rendered, want one per workload (7)", len(pods))
	}
	return pods
}

// podOf turns a workload's pod template into a Pod; nil for other kinds.
func podOf(t *testing.T, o *unstructured.Unstructured) *corev1.Pod {
	t.Helper()
	path := render.PodTemplatePath(o.GetKind())
	if path == nil {
		return nil
	}
	tmpl, found, err := unstructured.NestedMap(o.Object, path...)
	if !found || err != nil {
		t.Fatalf("%s %s has no pod template: %v", o.GetKind(), o.GetName(), err)
	}
	pod := &corev1.Pod{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(tmpl, pod); err != nil {
		t.Fatal(err)
	}
	pod.Name, pod.Namespace = strings.ToLower(o.GetKind())+"-"+o.GetName(), o.GetNamespace()
	claimVolumes(t, o, pod)
	return pod
}

// claimVolumes adds the volumes the StatefulSet controller adds for its
// claim templates, which the containers mount.
func claimVolumes(t *testing.T, o *unstructured.Unstructured, pod *corev1.Pod) {
	t.Helper()
	claims, _, err := unstructured.NestedSlice(o.Object, "spec", "volumeClaimTemplates")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range claims {
		name, _, _ := unstructured.NestedString(c.(map[string]any), "metadata", "name")
		pod.Spec.Volumes = append(pod.Spec.Volumes, corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: name + "-" + o.GetName() + "-0"}}})
	}
}

func dryRunCreate(t *testing.T, pod *corev1.Pod) error {
	t.Helper()
	_, err := testcluster.Get(t).Client.CoreV1().Pods(pod.Namespace).Create(t.Context(), pod, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	return err
}
