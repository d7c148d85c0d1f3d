package trials

import (
	"context"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/envop/envop/internal/operator"
	"github.com/envop/envop/internal/testcluster"
)

// TestTrialRights acts with the operator's own ServiceAccount (the Role of
// operator.RequiredRules) outside its namespace, and tries to grant itself
// more inside it: every attempt is refused with 403.
func TestTrialRights(t *testing.T) {
	t.Parallel()
	rep := record(t, "the operator's rights end at its namespace")
	ns := testcluster.Namespace(t)
	other := testcluster.Namespace(t)
	admin := testcluster.Get(t).Client
	ctx := t.Context()
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "neighbour"}, Data: map[string]string{"k": "v"}}
	if _, err := admin.CoreV1().ConfigMaps(other).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	cfg, sa := testcluster.ServiceAccountClient(t, ns, "envop", operator.RequiredRules())
	// The client works where the operator is meant to act.
	if _, err := sa.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{}); err != nil {
		t.Fatalf("the operator cannot list configmaps in its own namespace: %v", err)
	}
	attempts := rightsAttempts(t, cfg, sa, ns, other)
	refused := 0
	for _, a := range attempts {
		err := a.try(ctx)
		if apierrors.IsForbidden(err) {
			refused++
			continue
		}
		t.Errorf("%s: want 403 Forbidden, got %v", a.what, err)
	}
	rep.add("%d attempts outside the namespace or beyond the Role, %d refused with 403", len(attempts), refused)
	rep.add("tried: secrets in kube-system, configmaps in another namespace, nodes, namespaces, clusterroles and bindings, binding cluster-admin or a wildcard Role in its own namespace, tokens of other accounts, impersonation, persistent volumes, storage classes, admission webhooks")
}

type attempt struct {
	what string
	try  func(context.Context) error
}

func rightsAttempts(t *testing.T, cfg *rest.Config, sa kubernetes.Interface, ns, other string) []attempt {
	create, get, list := metav1.CreateOptions{}, metav1.GetOptions{}, metav1.ListOptions{}
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "stolen"}, StringData: map[string]string{"k": "v"}}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "planted"}}
	adminRef := rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "cluster-admin"}
	self := []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: "envop", Namespace: ns}}
	wildcard := []rbacv1.PolicyRule{{APIGroups: []string{"*"}, Resources: []string{"*"}, Verbs: []string{"*"}}}
	expiry := int64(600)
	impersonating := rest.CopyConfig(cfg)
	impersonating.Impersonate = rest.ImpersonationConfig{UserName: "system:admin", Groups: []string{"system:masters"}}
	imp, err := kubernetes.NewForConfig(impersonating)
	if err != nil {
		t.Fatal(err)
	}
	errOf := func(_ any, err error) error { return err }
	return []attempt{
		{"list secrets in kube-system", func(ctx context.Context) error { return errOf(sa.CoreV1().Secrets("kube-system").List(ctx, list)) }},
		{"create a secret in kube-system", func(ctx context.Context) error {
			return errOf(sa.CoreV1().Secrets("kube-system").Create(ctx, secret, create))
		}},
		{"list configmaps in another namespace", func(ctx context.Context) error { return errOf(sa.CoreV1().ConfigMaps(other).List(ctx, list)) }},
		{"get a configmap in another namespace", func(ctx context.Context) error {
			return errOf(sa.CoreV1().ConfigMaps(other).Get(ctx, "neighbour", get))
		}},
		{"create a configmap in another namespace", func(ctx context.Context) error {
			return errOf(sa.CoreV1().ConfigMaps(other).Create(ctx, cm, create))
		}},
		{"delete a configmap in another namespace", func(ctx context.Context) error {
			return sa.CoreV1().ConfigMaps(other).Delete(ctx, "neighbour", metav1.DeleteOptions{})
		}},
		{"list configmaps in every namespace", func(ctx context.Context) error { return errOf(sa.CoreV1().ConfigMaps("").List(ctx, list)) }},
		{"list deployments in every namespace", func(ctx context.Context) error { return errOf(sa.AppsV1().Deployments("").List(ctx, list)) }},
		{"list nodes", func(ctx context.Context) error { return errOf(sa.CoreV1().Nodes().List(ctx, list)) }},
		{"label a node", func(ctx context.Context) error {
			return errOf(sa.CoreV1().Nodes().Patch(ctx, "node-0", types.MergePatchType, []byte(`{"metadata":{"labels":{"owned":"yes"}}}`), metav1.PatchOptions{}))
		}},
		{"list namespaces", func(ctx context.Context) error { return errOf(sa.CoreV1().Namespaces().List(ctx, list)) }},
		{"create a namespace", func(ctx context.Context) error {
			return errOf(sa.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "envop-escape"}}, create))
		}},
		{"delete its own namespace", func(ctx context.Context) error {
			return sa.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{})
		}},
		{"list clusterroles", func(ctx context.Context) error { return errOf(sa.RbacV1().ClusterRoles().List(ctx, list)) }},
		{"create a clusterrole", func(ctx context.Context) error {
			return errOf(sa.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "envop-escape"}, Rules: wildcard}, create))
		}},
		{"bind cluster-admin cluster-wide", func(ctx context.Context) error {
			return errOf(sa.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "envop-escape"}, RoleRef: adminRef, Subjects: self}, create))
		}},
		{"bind cluster-admin in its own namespace", func(ctx context.Context) error {
			return errOf(sa.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "envop-escape"}, RoleRef: adminRef, Subjects: self}, create))
		}},
		{"create a wildcard Role in its own namespace", func(ctx context.Context) error {
			return errOf(sa.RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "envop-escape"}, Rules: wildcard}, create))
		}},
		{"create a Role in another namespace", func(ctx context.Context) error {
			return errOf(sa.RbacV1().Roles(other).Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "envop-escape"}}, create))
		}},
		{"request a token for kube-system's default account", func(ctx context.Context) error {
			return errOf(sa.CoreV1().ServiceAccounts("kube-system").CreateToken(ctx, "default",
				&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &expiry}}, create))
		}},
		{"impersonate system:admin", func(ctx context.Context) error { return errOf(imp.CoreV1().Namespaces().List(ctx, list)) }},
		{"list persistent volumes", func(ctx context.Context) error { return errOf(sa.CoreV1().PersistentVolumes().List(ctx, list)) }},
		{"create a storage class", func(ctx context.Context) error {
			return errOf(sa.StorageV1().StorageClasses().Create(ctx, &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "envop-escape"}, Provisioner: "x"}, create))
		}},
		{"create a mutating admission webhook", func(ctx context.Context) error {
			return errOf(sa.AdmissionregistrationV1().MutatingWebhookConfigurations().Create(ctx,
				&admissionregistrationv1.MutatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: "envop-escape"}}, create))
		}},
	}
}
