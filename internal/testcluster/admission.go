package testcluster

import (
	"context"
	"fmt"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
)

// DenyImageTag installs a ValidatingAdmissionPolicy and its binding that
// refuse, in namespace ns only, Deployments with an image tagged tag; both
// are deleted in cleanup. It returns the policy's name once the API server
// enforces the policy.
func DenyImageTag(t testing.TB, ns, tag string) string {
	t.Helper()
	c := Get(t)
	name := "deny-tag-" + ns
	fail := admissionregistrationv1.Fail
	forbidden := metav1.StatusReasonForbidden
	policy := &admissionregistrationv1.ValidatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{
			FailurePolicy: &fail,
			MatchConstraints: &admissionregistrationv1.MatchResources{ResourceRules: []admissionregistrationv1.NamedRuleWithOperations{{
				RuleWithOperations: admissionregistrationv1.RuleWithOperations{
					Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update},
					Rule:       admissionregistrationv1.Rule{APIGroups: []string{"apps"}, APIVersions: []string{"v1"}, Resources: []string{"deployments"}},
				},
			}}},
			// Reason Forbidden answers 403, as RBAC and quotas do; without
			// it the API server answers 422 (Invalid).
			Validations: []admissionregistrationv1.Validation{{
				Expression: fmt.Sprintf("object.spec.template.spec.containers.all(c, !c.image.endsWith(':%s'))", tag),
				Message:    fmt.Sprintf("images tagged %s may not run in this namespace", tag),
				Reason:     &forbidden,
			}},
		},
	}
	binding := &admissionregistrationv1.ValidatingAdmissionPolicyBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{
			PolicyName:        name,
			ValidationActions: []admissionregistrationv1.ValidationAction{admissionregistrationv1.Deny},
			MatchResources: &admissionregistrationv1.MatchResources{NamespaceSelector: &metav1.LabelSelector{
				MatchLabels: map[string]string{corev1.LabelMetadataName: ns},
			}},
		},
	}
	ctx := t.Context()
	api := c.Client.AdmissionregistrationV1()
	if _, err := api.ValidatingAdmissionPolicies().Create(ctx, policy, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create admission policy: %v", err)
	}
	t.Cleanup(func() {
		_ = api.ValidatingAdmissionPolicies().Delete(context.WithoutCancel(ctx), name, metav1.DeleteOptions{})
	})
	if _, err := api.ValidatingAdmissionPolicyBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create admission policy binding: %v", err)
	}
	t.Cleanup(func() {
		_ = api.ValidatingAdmissionPolicyBindings().Delete(context.WithoutCancel(ctx), name, metav1.DeleteOptions{})
	})
	waitEnforced(t, ns, "probe:"+tag)
	return name
}

// waitEnforced waits until a server-side dry run of a Deployment with
// image in ns is refused.
func waitEnforced(t testing.TB, ns, image string) {
	t.Helper()
	labels := map[string]string{"app": "probe"}
	probe := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "admission-probe"},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "probe", Image: image}}}},
		},
	}
	deployments := Get(t).Client.AppsV1().Deployments(ns)
	err := wait.PollUntilContextTimeout(t.Context(), 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		_, err := deployments.Create(ctx, probe, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		return err != nil, nil
	})
	if err != nil {
		t.Fatalf("admission policy never enforced in %s: %v", ns, err)
	}
}

// Quota creates ResourceQuota name in ns with the given hard limits and
// waits until the quota controller has computed its usage: before that,
// the API server refuses what the quota limits with "status unknown".
func Quota(t testing.TB, ns, name string, hard corev1.ResourceList) {
	t.Helper()
	c := Get(t)
	q := &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.ResourceQuotaSpec{Hard: hard}}
	if _, err := c.Client.CoreV1().ResourceQuotas(ns).Create(t.Context(), q, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create resource quota: %v", err)
	}
	err := wait.PollUntilContextTimeout(t.Context(), 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		got, err := c.Client.CoreV1().ResourceQuotas(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		for r := range hard {
			if _, ok := got.Status.Used[r]; !ok {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		t.Fatalf("resource quota %s: usage never computed: %v", name, err)
	}
}

// Count is a quota of n objects, as a ResourceList value.
func Count(n int64) resource.Quantity { return *resource.NewQuantity(n, resource.DecimalSI) }

// EnforcePodSecurity labels ns to enforce Pod Security level (restricted,
// baseline, privileged).
func EnforcePodSecurity(t testing.TB, ns, level string) {
	t.Helper()
	c := Get(t)
	patch := fmt.Appendf(nil, `{"metadata":{"labels":{"pod-security.kubernetes.io/enforce":%q}}}`, level)
	if _, err := c.Client.CoreV1().Namespaces().Patch(t.Context(), ns, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatalf("label namespace %s: %v", ns, err)
	}
}
