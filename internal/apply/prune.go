package apply

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/envop/envop/internal/render"
)

// ErrEmptyDesired is returned by Prune when it refuses to delete every
// managed object because nothing is desired.
var ErrEmptyDesired = errors.New("the desired set is empty")

// Prune deletes the managed objects of the environment (managed-by=envop and
// the environment label, in the namespace) that desired does not list, in
// reverse apply order, with background propagation. Claims are kept and
// reported as skipped unless Options.PruneClaims. Kinds the server does not
// serve are ignored. Custom resource kinds are those of desired, those this
// Applier applied and those given to RememberKinds (the operator passes the
// kinds its state recorded, so a restart forgets none). A failed delete is a
// failed Change; the error returned is for a prune refused or not attempted.
func (a *Applier) Prune(ctx context.Context, desired []*unstructured.Unstructured) (*ChangeSet, error) {
	start := time.Now()
	if err := a.ensureInventory(ctx); err != nil {
		return &ChangeSet{}, fmt.Errorf("prune: %w", err)
	}
	keep := map[objectKey]bool{}
	for _, obj := range desired {
		keep[keyOf(obj)] = true
	}
	labelled, listed, err := a.listManaged(ctx, a.candidateKinds(keep))
	if err != nil {
		return &ChangeSet{}, err
	}
	live := a.inventoried(labelled)
	if len(desired) == 0 && len(live) > 0 && !a.opts.AllowEmpty {
		return &ChangeSet{}, fmt.Errorf("prune: %w while %d managed objects exist in namespace %s: refusing to delete them all (a manifest that suddenly lists no services is more likely a mistake); run the operator with --allow-empty to allow it",
			ErrEmptyDesired, len(live), a.opts.Namespace)
	}
	cs := &ChangeSet{}
	for _, obj := range orphans(live, keep) {
		cs.Changes = append(cs.Changes, a.pruneOne(ctx, obj))
	}
	if err := a.settleInventory(ctx, live, listed, cs); err != nil {
		return cs, err
	}
	counts := cs.Counts()
	a.opts.Logger.Info("pruned", "namespace", a.opts.Namespace, "pruned", counts[Pruned],
		"skipped", counts[Skipped], "failed", counts[Failed], "duration", time.Since(start))
	return cs, nil
}

// candidateKinds are the kinds pruning must list: those of the inventory's
// members that keep does not hold. Only members are ever deleted (see
// inventoried), so a kind with none outside keep has nothing to prune, and
// a sync that removes nothing lists nothing.
func (a *Applier) candidateKinds(keep map[objectKey]bool) []schema.GroupKind {
	outside := map[schema.GroupKind]bool{}
	a.inv.mu.Lock()
	for k := range a.inv.refs {
		if !keep[k] {
			outside[k.GroupKind] = true
		}
	}
	a.inv.mu.Unlock()
	var out []schema.GroupKind
	for _, gk := range pruneKinds(nil, a.appliedKinds()) {
		if outside[gk] {
			out = append(out, gk)
		}
	}
	return out
}

// inventoried keeps the labelled objects that are members of the
// inventory: an object that merely carries envop's labels was not made by
// envop and is never deleted.
func (a *Applier) inventoried(labelled []*unstructured.Unstructured) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, obj := range labelled {
		if a.owns(obj) {
			out = append(out, obj)
		} else {
			a.opts.Logger.Debug("labelled object outside the inventory left alone", "kind", obj.GetKind(), "name", obj.GetName())
		}
	}
	return out
}

// settleInventory drops from the inventory what no longer exists: objects
// pruned, and objects whose creation failed. Members of kinds that could
// not be listed stay: they may exist.
func (a *Applier) settleInventory(ctx context.Context, live []*unstructured.Unstructured, listed map[schema.GroupKind]bool, cs *ChangeSet) error {
	exists := make(map[objectKey]bool, len(live))
	for _, obj := range live {
		exists[keyOf(obj)] = true
	}
	for _, ch := range cs.Changes {
		if ch.Action == Pruned {
			delete(exists, ch.key)
		}
	}
	a.inv.retain(func(k objectKey) bool { return !listed[k.GroupKind] || exists[k] })
	return a.saveInventory(ctx)
}

// orphans are the live objects not kept, in reverse apply order.
func orphans(live []*unstructured.Unstructured, keep map[objectKey]bool) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, obj := range live {
		if !keep[keyOf(obj)] {
			out = append(out, obj)
		}
	}
	render.Sort(out)
	sort.SliceStable(out, func(i, j int) bool {
		return render.Rank(out[i].GetKind()) > render.Rank(out[j].GetKind())
	})
	return out
}

// listManaged lists the managed objects of every kind the server serves.
// A custom resource kind the operator may not list is skipped with a
// warning rather than stopping all pruning: its rights are the user's to
// grant, and may be gone with the service.
//
// The kinds are listed concurrently, at most Options.Workers at once; the
// objects come back in the order of kinds.
func (a *Applier) listManaged(ctx context.Context, kinds []schema.GroupKind) ([]*unstructured.Unstructured, map[schema.GroupKind]bool, error) {
	items := make([][]unstructured.Unstructured, len(kinds))
	errs := make([]error, len(kinds))
	sem := make(chan struct{}, a.opts.Workers)
	var wg sync.WaitGroup
	for i, gk := range kinds {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			items[i], errs[i] = a.list(ctx, gk.WithVersion(""), a.selector())
		})
	}
	wg.Wait()
	var out []*unstructured.Unstructured
	listed := map[schema.GroupKind]bool{}
	for i, gk := range kinds {
		err := errs[i]
		if meta.IsNoMatchError(err) {
			continue // not served here: nothing of it to prune
		}
		if apierrors.IsForbidden(err) && render.Rank(gk.Kind) == len(render.KindOrder) {
			a.opts.Logger.Warn("prune skips a custom resource kind it may not list",
				"namespace", a.opts.Namespace, "kind", gk.String(), "error", err)
			continue
		}
		if err != nil {
			return nil, nil, fmt.Errorf("prune: list %s: %w", gk, err)
		}
		listed[gk] = true
		for j := range items[i] {
			out = append(out, &items[i][j])
		}
	}
	return out, listed, nil
}

func (a *Applier) pruneOne(ctx context.Context, obj *unstructured.Unstructured) Change {
	ch := Change{Kind: obj.GetKind(), Name: obj.GetName(), Service: obj.GetLabels()[render.LabelName], key: keyOf(obj)}
	if obj.GetKind() == "PersistentVolumeClaim" && !a.opts.PruneClaims {
		ch.Action, ch.Reason = Skipped, "claims are kept unless PruneClaims is set"
		a.opts.Logger.Info("claim kept", "name", ch.Name, "service", ch.Service)
		return ch
	}
	// Forgotten first: its deletion, seen by the drift watch, is ours.
	a.forget(keyOf(obj))
	if err := a.delete(ctx, obj); err != nil {
		ch.Action, ch.Err = Failed, fmt.Errorf("prune %s %s: %w", ch.Kind, ch.Name, err)
		a.opts.Logger.Warn("prune failed", "kind", ch.Kind, "name", ch.Name, "error", err)
		return ch
	}
	ch.Action = Pruned
	a.opts.Logger.Info("object pruned", "kind", ch.Kind, "name", ch.Name, "service", ch.Service)
	return ch
}

// delete deletes obj with background propagation, only if it is still the
// object that was listed (same UID).
func (a *Applier) delete(ctx context.Context, obj *unstructured.Unstructured) error {
	mapping, err := a.mapper.mapping(obj.GroupVersionKind())
	if err != nil {
		return err
	}
	policy := metav1.DeletePropagationBackground
	uid := obj.GetUID()
	err = a.resource(mapping).Namespace(a.opts.Namespace).Delete(ctx, obj.GetName(), metav1.DeleteOptions{
		PropagationPolicy: &policy,
		Preconditions:     &metav1.Preconditions{UID: &uid},
	})
	if apierrors.IsNotFound(err) {
		return nil // already gone
	}
	return err
}
