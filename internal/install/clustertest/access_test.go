package clustertest

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

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
// Roles of `access`, which grant more than it holds itself; without either
// Kubernetes refuses them.
func TestAccessComponent(t *testing.T) {
	for _, mode := range []string{"component", "flag", "none"} {
		t.Run(mode, func(t *testing.T) {
			ns := testcluster.Namespace(t)
			args := []string{"--namespace", ns, "--auth-token-secret", ""}
			if mode == "flag" {
				args = append(args, "--access")
			}
			apply(t, decode(t, envopInstall(t, args...)), "Deployment")
			if mode == "component" {
				applyAccessComponent(t, ns)
			}
			cfg, _ := testcluster.TokenClient(t, ns, "envop")
			op := startOperator(t, operator.Options{
				RestConfig: cfg, Namespace: ns, Environment: "dev", GitRepo: gitRepo(t, fmt.Sprintf(withAccess, ns)),
				PollInterval: time.Hour, ResyncInterval: time.Hour,
			})
			granted := mode != "none"
			for _, name := range []string{"envop-view", "envop-admin"} {
				_, err := testcluster.Get(t).Client.RbacV1().Roles(ns).Get(t.Context(), name, metav1.GetOptions{})
				if granted && err != nil {
					t.Errorf("Role %s: %v\n%s", name, err, op.logs.String())
				}
				if !granted && !apierrors.IsNotFound(err) {
					t.Errorf("Role %s created without the access Role: %v", name, err)
				}
			}
		})
	}
}

// applyAccessComponent applies deploy/components/access into ns, as an
// overlay's namespace would place it.
func applyAccessComponent(t *testing.T, ns string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "..", "deploy", "components", "access", "access.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	objs := decode(t, string(data))
	for _, o := range objs {
		o.SetNamespace(ns)
	}
	if err := setSubjectNamespace(find(t, objs, "RoleBinding").Object, ns); err != nil {
		t.Fatal(err)
	}
	apply(t, objs)
}

func setSubjectNamespace(rb map[string]any, ns string) error {
	subjects, ok := rb["subjects"].([]any)
	if !ok || len(subjects) == 0 {
		return fmt.Errorf("no subjects in %v", rb)
	}
	for _, s := range subjects {
		s.(map[string]any)["namespace"] = ns
	}
	return nil
}
