package clustertest

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/envop/envop/internal/operator"
	"github.com/envop/envop/internal/testcluster"
)

const withAccess = `project: shop
environments:
  - name: dev
    namespace: %s
    access:
      - group: devs
        role: view
      - user: lead@example.com
        role: admin
    services:
      - name: web
        version: "1.0.0"
        port: 8080
`

// TestAccessComponent: with deploy/components/access added to the install,
// or with `envop install --access`, the operator may create and bind the
// Roles of `access`, which grant more than it needs for itself; without
// either Kubernetes refuses them.
func TestAccessComponent(t *testing.T) {
	for _, mode := range []string{"component", "flag", "none"} {
		t.Run(mode, func(t *testing.T) {
			ns := testcluster.Namespace(t)
			args := []string{"--namespace", ns, "--auth-token-secret", ""}
			if mode == "flag" {
				args = append(args, "--access")
			}
			objs := decode(t, envopInstall(t, args...))
			if mode == "component" {
				objs = accessOverlay(t, ns)
				sameRules(t, find(t, objs, "Role"), find(t, decode(t, envopInstall(t, append(args, "--access")...)), "Role"))
			}
			apply(t, objs, "Deployment")
			cfg, _ := testcluster.TokenClient(t, ns, "envop")
			op := startOperator(t, operator.Options{
				RestConfig: cfg, Namespace: ns, Environment: "dev", GitRepo: gitRepo(t, fmt.Sprintf(withAccess, ns)),
				PollInterval: time.Hour, ResyncInterval: time.Hour,
			})
			granted := mode != "none"
			rbac := testcluster.Get(t).Client.RbacV1()
			for _, name := range []string{"envop-view", "envop-admin"} {
				_, err := rbac.Roles(ns).Get(t.Context(), name, metav1.GetOptions{})
				if err == nil {
					_, err = rbac.RoleBindings(ns).Get(t.Context(), name, metav1.GetOptions{})
				}
				if granted && err != nil {
					t.Errorf("Role and RoleBinding %s: %v\n%s", name, err, op.logs.String())
				}
				if !granted && !apierrors.IsNotFound(err) {
					t.Errorf("Role %s created without the access rights: %v", name, err)
				}
			}
		})
	}
}

// accessOverlay builds, with kubectl's kustomize, an overlay of deploy/base
// with the component deploy/components/access in ns, as docs/install.md
// shows.
func accessOverlay(t *testing.T, ns string) []*unstructured.Unstructured {
	t.Helper()
	dir := t.TempDir()
	deploy, err := filepath.Abs(filepath.Join("..", "..", "..", "deploy"))
	if err != nil {
		t.Fatal(err)
	}
	// kustomize refuses absolute paths to other kustomizations.
	rel, err := filepath.Rel(dir, deploy)
	if err != nil {
		t.Fatal(err)
	}
	k := fmt.Sprintf("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: %s\n"+
		"resources:\n- %s\ncomponents:\n- %s\n", ns, filepath.ToSlash(filepath.Join(rel, "base")), filepath.ToSlash(filepath.Join(rel, "components", "access")))
	if err := os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte(k), 0o644); err != nil {
		t.Fatal(err)
	}
	return decode(t, kubectl(t, "kustomize", dir))
}

// sameRules checks the component gives the Role `envop install --access`
// prints.
func sameRules(t *testing.T, got, want *unstructured.Unstructured) {
	t.Helper()
	var g, w rbacv1.Role
	fromMap(t, got, &g)
	fromMap(t, want, &w)
	if !reflect.DeepEqual(g.Rules, w.Rules) || g.Namespace != w.Namespace {
		t.Errorf("the access component's Role differs from envop install --access:\n%v\n%v", g, w)
	}
}
