package apply

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"

	"github.com/envop/envop/internal/render"
)

// applyOne applies one object unless it is up to date; it never panics on
// bad input and turns every error into a failed Change naming the object.
func (a *Applier) applyOne(ctx context.Context, obj *unstructured.Unstructured, live *liveObjects) Change {
	ch := Change{Kind: obj.GetKind(), Name: obj.GetName(), Service: obj.GetLabels()[render.LabelName]}
	action, reverted, err := a.reconcile(ctx, obj, live)
	ch.Reverted = reverted
	if err != nil {
		ch.Action, ch.Err = Failed, fmt.Errorf("apply %s %s: %w", ch.Kind, ch.Name, err)
		a.opts.Logger.Warn("apply failed", "kind", ch.Kind, "name", ch.Name, "service", ch.Service, "error", err)
		return ch
	}
	ch.Action = action
	if action != Unchanged {
		a.opts.Logger.Debug("object applied", "kind", ch.Kind, "name", ch.Name, "service", ch.Service, "action", action)
	}
	return ch
}

// reconcile applies obj unless it is up to date. It also says what drift
// the apply reverts: when the object is what this Applier applied last
// time (same hash) and still it must be applied, someone else changed or
// deleted it.
func (a *Applier) reconcile(ctx context.Context, obj *unstructured.Unstructured, live *liveObjects) (Action, string, error) {
	if err := a.admit(obj); err != nil {
		return "", "", err
	}
	desired, hash, err := withHash(obj)
	if err != nil {
		return "", "", err
	}
	mapping, err := a.mapper.mapping(desired.GroupVersionKind())
	if err != nil {
		return "", "", err
	}
	ri := a.resource(mapping).Namespace(a.opts.Namespace)
	current, err := live.get(ctx, ri, keyOf(desired))
	if err != nil {
		return "", "", err
	}
	key := keyOf(desired)
	if current != nil && a.owns(current) && a.upToDate(key, hash, desired, current) {
		return Unchanged, "", nil
	}
	if a.original(current) {
		if keptKinds[desired.GetKind()] {
			return Unchanged, "", nil
		}
		if err := a.transfer(ctx, ri, current); err != nil {
			return "", "", err
		}
	}
	reverted := a.drift(key, hash, current)
	if err := a.handOverReplicas(ctx, ri, desired, current); err != nil {
		return "", "", err
	}
	a.startApplying(key)
	result, err := ri.Apply(ctx, desired.GetName(), desired, metav1.ApplyOptions{FieldManager: a.opts.FieldManager, Force: true})
	if err != nil {
		a.doneApplying(key, nil, true)
		return "", "", err
	}
	var rec *record
	if entry, ok := a.ownEntry(result); ok {
		rec = &record{hash: hash, fields: entry, before: a.entriesBefore(key, current)}
	}
	a.doneApplying(key, rec, false)
	return a.classify(current, result), reverted, nil
}

// entriesBefore are our entries in the object before an apply: the one
// last recorded and the live one.
func (a *Applier) entriesBefore(key objectKey, current *unstructured.Unstructured) []string {
	var out []string
	if r, ok := a.recall(key); ok {
		out = append(out, r.fields)
	}
	if current != nil {
		if entry, ok := a.ownEntry(current); ok {
			out = append(out, entry)
		}
	}
	return out
}

// drift says what someone else did to an object that must be applied
// again although its desired content did not change since this Applier
// applied it: "" when it is not drift (a new or changed object).
func (a *Applier) drift(key objectKey, hash string, current *unstructured.Unstructured) string {
	r, ok := a.recall(key)
	switch {
	case !ok || r.hash != hash:
		return ""
	case current == nil:
		return "deleted"
	default:
		return "changed by " + lastWriter(current.GetManagedFields(), a.opts.FieldManager)
	}
}

// admit refuses, as defence in depth, objects outside the namespace or
// without the labels pruning selects on: they could never be pruned.
func (a *Applier) admit(obj *unstructured.Unstructured) error {
	if obj.GetName() == "" {
		return errors.New("object has no name")
	}
	if ns := obj.GetNamespace(); ns != a.opts.Namespace {
		return fmt.Errorf("namespace %q is not the environment's namespace %q", ns, a.opts.Namespace)
	}
	l := obj.GetLabels()
	if l[render.LabelManagedBy] != render.ManagedBy || l[render.LabelEnvironment] != a.opts.Environment {
		return fmt.Errorf("labels %s=%q, %s=%q: want %q and %q", render.LabelManagedBy, l[render.LabelManagedBy],
			render.LabelEnvironment, l[render.LabelEnvironment], render.ManagedBy, a.opts.Environment)
	}
	return nil
}

// withHash returns a copy of obj annotated with the hash of its content.
func withHash(obj *unstructured.Unstructured) (*unstructured.Unstructured, string, error) {
	desired := obj.DeepCopy()
	annotations := desired.GetAnnotations()
	delete(annotations, AnnotationAppliedHash)
	desired.SetAnnotations(annotations)
	data, err := json.Marshal(desired.Object)
	if err != nil {
		return nil, "", fmt.Errorf("hash object: %w", err)
	}
	sum := sha256.Sum256(data)
	hash := hex.EncodeToString(sum[:16])
	if annotations == nil {
		annotations = map[string]string{}
	}
	annotations[AnnotationAppliedHash] = hash
	desired.SetAnnotations(annotations)
	return desired, hash, nil
}

// upToDate says whether applying desired would change nothing we own.
func (a *Applier) upToDate(key objectKey, hash string, desired, live *unstructured.Unstructured) bool {
	entry, ok := a.ownEntry(live)
	if !ok {
		return false
	}
	if r, ok := a.recall(key); ok {
		return r.hash == hash && r.fields == entry
	}
	// Nothing remembered (a restart): trust the annotation only if our
	// entry still owns every field of the desired object.
	if live.GetAnnotations()[AnnotationAppliedHash] != hash || !ownsAll(entry, desired.Object) {
		return false
	}
	a.remember(key, record{hash: hash, fields: entry})
	return true
}

// ownEntry returns the FieldsV1 of our field manager's Apply entry.
func (a *Applier) ownEntry(obj *unstructured.Unstructured) (string, bool) {
	return ownEntryOf(obj.GetManagedFields(), a.opts.FieldManager)
}

// classify tells created from configured from unchanged. Without a live
// object, the apply created it if our entry is the only one: an object
// created meanwhile by someone else carries the entry of whoever made it.
func (a *Applier) classify(before, after *unstructured.Unstructured) Action {
	switch {
	case before == nil && a.onlyManager(after):
		return Created
	case before == nil:
		return Configured
	case before.GetResourceVersion() != after.GetResourceVersion():
		return Configured
	default:
		return Unchanged
	}
}

func (a *Applier) resource(m *meta.RESTMapping) dynamic.NamespaceableResourceInterface {
	return a.dyn.Resource(m.Resource)
}

// notFound turns a NotFound error into a nil object.
func notFound(obj *unstructured.Unstructured, err error) (*unstructured.Unstructured, error) {
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read live object: %w", err)
	}
	return obj, nil
}

func (a *Applier) onlyManager(obj *unstructured.Unstructured) bool {
	for _, mf := range obj.GetManagedFields() {
		if mf.Manager != a.opts.FieldManager {
			return false
		}
	}
	return true
}
