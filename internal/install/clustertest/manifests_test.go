package clustertest

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/envop/envop/internal/operator"
	"github.com/envop/envop/internal/testcluster"
)

// TestPodMeetsRestrictedPodSecurity creates the operator's pod (dry run) in
// a namespace that enforces the "restricted" Pod Security Standard.
func TestPodMeetsRestrictedPodSecurity(t *testing.T) {
	c := testcluster.Get(t)
	ns := testcluster.Namespace(t)
	patch := []byte(`{"metadata":{"labels":{"pod-security.kubernetes.io/enforce":"restricted"}}}`)
	if _, err := c.Client.CoreV1().Namespaces().Patch(t.Context(), ns, "application/merge-patch+json", patch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	objs := decode(t, envopInstall(t, "--namespace", ns, "--environment", "dev", "--git-repo", "https://git.example.com/x.git"))
	apply(t, objs, "Deployment")
	pod := podOf(t, find(t, objs, "Deployment"))
	dry := metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}
	if _, err := c.Client.CoreV1().Pods(ns).Create(t.Context(), pod, dry); err != nil {
		t.Fatalf("the operator's pod is refused under restricted: %v", err)
	}
	// The control: the same pod without its security context is refused,
	// so the namespace really enforces the standard.
	pod.Spec.SecurityContext, pod.Spec.Containers[0].SecurityContext = nil, nil
	if _, err := c.Client.CoreV1().Pods(ns).Create(t.Context(), pod, dry); !isForbidden(err) {
		t.Fatalf("an unhardened pod was not refused: %v", err)
	}
}

func podOf(t *testing.T, deployment *unstructured.Unstructured) *corev1.Pod {
	t.Helper()
	tmpl, _, err := unstructured.NestedMap(deployment.Object, "spec", "template")
	if err != nil {
		t.Fatal(err)
	}
	pod := &corev1.Pod{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(tmpl, pod); err != nil {
		t.Fatal(err)
	}
	pod.Name = "envop-under-test"
	return pod
}

// TestExampleOverlay builds deploy/overlays/example with kubectl's kustomize
// and applies the result (the Deployment as a dry run): everything lands
// in the overlay's namespace, the RoleBinding's subject included, with the
// overlay's settings and the Role unchanged.
func TestExampleOverlay(t *testing.T) {
	c := testcluster.Get(t)
	overlay := filepath.Join("..", "..", "..", "deploy", "overlays", "example")
	objs := decode(t, kubectl(t, "kustomize", overlay))
	const ns = "shop-staging"
	if _, err := c.Client.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		if o.GetNamespace() != ns {
			t.Errorf("%s %s in namespace %q", o.GetKind(), o.GetName(), o.GetNamespace())
		}
	}
	var rb rbacv1.RoleBinding
	fromMap(t, find(t, objs, "RoleBinding"), &rb)
	if rb.Subjects[0].Namespace != ns {
		t.Errorf("RoleBinding subject in %q", rb.Subjects[0].Namespace)
	}
	var role rbacv1.Role
	fromMap(t, find(t, objs, "Role"), &role)
	if !reflect.DeepEqual(role.Rules, operator.RequiredRules()) {
		t.Errorf("the overlay changed the Role: %v", role.Rules)
	}
	pod := podOf(t, find(t, objs, "Deployment"))
	env := map[string]string{}
	for _, e := range pod.Spec.Containers[0].Env {
		env[e.Name] = e.Value
	}
	if env["ENVIRONMENT_NAME"] != "staging" || !strings.HasPrefix(env["GIT_REMOTE_REPOSITORY"], "https://") || env["AUTH_TOKEN_FILE"] == "" {
		t.Errorf("env = %v", env)
	}
	if img := pod.Spec.Containers[0].Image; !strings.HasPrefix(img, "ghcr.io/envop/envop:v") {
		t.Errorf("image = %s, want a pinned release", img)
	}
	apply(t, objs, "Deployment")
}

func fromMap(t *testing.T, u *unstructured.Unstructured, into any) {
	t.Helper()
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, into); err != nil {
		t.Fatal(err)
	}
}
