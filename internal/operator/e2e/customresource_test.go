package e2e

import (
	"fmt"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/envop/envop/internal/operator"
	"github.com/envop/envop/internal/testcluster"
)

const withCustomResource = basic + `      - name: cache
        type: couchbase
        options:
          size: 3
`

// TestRestartPrunesDroppedCustomResource: a legacy custom resource service
// removed from the file while the operator was down is still pruned when it
// starts again: the kind is in the state, not only in its memory.
// Serial: it installs a CustomResourceDefinition.
func TestRestartPrunesDroppedCustomResource(t *testing.T) {
	gvk := schema.GroupVersionKind{Group: "prsn.io", Version: "v1", Kind: "Couchbase"}
	testcluster.InstallCRD(t, gvk)
	ns := testcluster.Namespace(t)
	// The rights docs/install.md asks users to add for their custom kinds.
	rules := append(operator.RequiredRules(), rbacv1.PolicyRule{
		APIGroups: []string{gvk.Group}, Resources: []string{"couchbases"},
		Verbs: []string{"create", "delete", "list", "patch"},
	})
	cfg, _ := testcluster.ServiceAccountClient(t, ns, "envop", rules)
	e := newEnvConfig(t, ns, cfg, withCustomResource, nil)

	couchbases := dynamic.NewForConfigOrDie(testcluster.Get(t).Config).
		Resource(gvk.GroupVersion().WithResource("couchbases")).Namespace(ns)
	if _, err := couchbases.Get(t.Context(), "cache", metav1.GetOptions{}); err != nil {
		t.Fatalf("custom resource not applied: %v\n%s", err, e.logs.String())
	}

	e.stop()
	e.commit(basic)
	e.start()
	e.eventually(30*time.Second, "the dropped custom resource pruned", func() (bool, string) {
		_, err := couchbases.Get(t.Context(), "cache", metav1.GetOptions{})
		return apierrors.IsNotFound(err), fmt.Sprint(err)
	})
	if s := e.service("web"); s.Version != "1.0.0" {
		t.Errorf("web after the restart: %+v", s)
	}
}
