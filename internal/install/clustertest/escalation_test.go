package clustertest

import (
	"testing"

	authorizationv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/envop/envop/internal/render"
	"github.com/envop/envop/internal/testcluster"
)

// TestServiceAccountCannotEscalate asks the API server, with the account's
// own token, about the rights that would let it grant or act with more than
// it holds: every answer is no, with --access as without.
func TestServiceAccountCannotEscalate(t *testing.T) {
	for _, mode := range []string{"plain", "access"} {
		t.Run(mode, func(t *testing.T) {
			ns, client := installedAccount(t, mode == "access")
			rbacGroup := rbacv1.GroupName
			for _, a := range []authorizationv1.ResourceAttributes{
				{Namespace: ns, Verb: "escalate", Group: rbacGroup, Resource: "roles"},
				{Namespace: ns, Verb: "escalate", Group: rbacGroup, Resource: "roles", Name: render.AccessRoleName("admin")},
				{Namespace: ns, Verb: "bind", Group: rbacGroup, Resource: "roles"},
				{Namespace: ns, Verb: "bind", Group: rbacGroup, Resource: "roles", Name: render.AccessRoleName("admin")},
				{Namespace: ns, Verb: "bind", Group: rbacGroup, Resource: "clusterroles", Name: "admin"},
				{Verb: "escalate", Group: rbacGroup, Resource: "clusterroles"},
				{Verb: "bind", Group: rbacGroup, Resource: "clusterroles"},
				{Verb: "impersonate", Resource: "users"},
				{Verb: "impersonate", Resource: "groups"},
				{Namespace: ns, Verb: "impersonate", Resource: "serviceaccounts"},
				{Verb: "impersonate", Group: "authentication.k8s.io", Resource: "uids"},
				{Verb: "impersonate", Group: "authentication.k8s.io", Resource: "userextras"},
				{Namespace: ns, Verb: "create", Resource: "serviceaccounts", Subresource: "token"},
				{Namespace: ns, Verb: "get", Resource: "serviceaccounts", Subresource: "token"},
				{Namespace: ns, Verb: "get", Resource: "secrets"},
			} {
				if allowed(t, client, a) {
					t.Errorf("the account may %s %s/%s (group %q, name %q)", a.Verb, a.Resource, a.Subresource, a.Group, a.Name)
				}
			}
			// The control: the question is asked right.
			if !allowed(t, client, authorizationv1.ResourceAttributes{Namespace: ns, Verb: "create", Group: rbacGroup, Resource: "roles"}) {
				t.Error("the account may not create roles, which its Role grants")
			}
		})
	}
}

func allowed(t *testing.T, client kubernetes.Interface, a authorizationv1.ResourceAttributes) bool {
	t.Helper()
	review := &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &a}}
	got, err := client.AuthorizationV1().SelfSubjectAccessReviews().Create(t.Context(), review, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("access review %+v: %v", a, err)
	}
	return got.Status.Allowed
}

// TestAccessRolesNeedNoEscalate creates, with the account's own token, a
// Role granting every right of the `access` Roles and a RoleBinding to it:
// with --access Kubernetes allows both because the account holds those
// rights (it has no escalate or bind, TestServiceAccountCannotEscalate);
// without, it refuses them.
func TestAccessRolesNeedNoEscalate(t *testing.T) {
	for _, mode := range []string{"access", "plain"} {
		t.Run(mode, func(t *testing.T) {
			ns, client := installedAccount(t, mode == "access")
			name := render.AccessRoleName("admin")
			role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: render.AccessRules()}
			_, roleErr := client.RbacV1().Roles(ns).Create(t.Context(), role, metav1.CreateOptions{})
			if mode == "plain" {
				if !isForbidden(roleErr) {
					t.Fatalf("without --access the Role was not refused: %v", roleErr)
				}
				// The admin creates it, to see the binding refused too.
				if _, err := testcluster.Get(t).Client.RbacV1().Roles(ns).Create(t.Context(), role, metav1.CreateOptions{}); err != nil {
					t.Fatal(err)
				}
			} else if roleErr != nil {
				t.Fatalf("with --access the Role was refused: %v", roleErr)
			}
			binding := &rbacv1.RoleBinding{
				ObjectMeta: metav1.ObjectMeta{Name: name},
				Subjects:   []rbacv1.Subject{{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: "oidc:devs"}},
				RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: name},
			}
			_, err := client.RbacV1().RoleBindings(ns).Create(t.Context(), binding, metav1.CreateOptions{})
			switch {
			case mode == "access" && err != nil:
				t.Errorf("with --access the RoleBinding was refused: %v", err)
			case mode == "plain" && !isForbidden(err):
				t.Errorf("without --access the RoleBinding was not refused: %v", err)
			}
		})
	}
}

// installedAccount installs envop (with --access when asked) in a new
// namespace, without its Deployment, and returns a client with the
// ServiceAccount's own token.
func installedAccount(t *testing.T, access bool) (string, kubernetes.Interface) {
	t.Helper()
	ns := testcluster.Namespace(t)
	args := []string{"--namespace", ns}
	if access {
		args = append(args, "--access")
	}
	apply(t, decode(t, envopInstall(t, args...)), "Deployment")
	_, client := testcluster.TokenClient(t, ns, "envop")
	return ns, client
}
