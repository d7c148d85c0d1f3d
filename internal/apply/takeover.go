package apply

import (
	"context"
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/util/csaupgrade"

	"github.com/envop/envop/internal/takeover"
)

// original says whether current, a live object of a desired name, is one
// the original Environment Operator made and envop takes over without
// `adopt: true` (docs/migrating.md).
func (a *Applier) original(current *unstructured.Unstructured) bool {
	return current != nil && !a.owns(current) && takeover.Original(current.GetLabels())
}

// keptKinds are the kinds of the original's objects that envop takes over
// without applying them: a claim's spec cannot change once bound, and the
// claim already holds the data.
var keptKinds = map[string]bool{"PersistentVolumeClaim": true}

// transfer makes our field manager the owner of every field the original
// Environment Operator (or anyone editing its object since, by update) set
// on current, so that the apply that follows leaves the object as the file
// renders it: fields envop does not render are removed (the original's
// labels, its node selector) instead of staying behind under another owner.
// The fields of the cluster's own controllers (managers named kube-*) and
// of subresources stay theirs. The patch names the resource version read,
// so an object changed meanwhile is refused (a conflict, retried).
func (a *Applier) transfer(ctx context.Context, ri dynamic.ResourceInterface, current *unstructured.Unstructured) error {
	managers := sets.New[string]()
	for _, e := range current.GetManagedFields() {
		if e.Operation == metav1.ManagedFieldsOperationUpdate && e.Subresource == "" &&
			e.Manager != a.opts.FieldManager && e.Manager != a.handoverManager() && !strings.HasPrefix(e.Manager, "kube-") {
			managers.Insert(e.Manager)
		}
	}
	if managers.Len() == 0 {
		return nil
	}
	patch, err := csaupgrade.UpgradeManagedFieldsPatch(current, managers, a.opts.FieldManager)
	if err != nil || patch == nil {
		return err
	}
	if _, err := ri.Patch(ctx, current.GetName(), types.JSONPatchType, patch, metav1.PatchOptions{}); err != nil {
		return fmt.Errorf("take over the original operator's fields: %w", err)
	}
	a.opts.Logger.Info("original object taken over", "kind", current.GetKind(), "name", current.GetName(),
		"from", strings.Join(sets.List(managers), ","))
	return nil
}
