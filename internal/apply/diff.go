package apply

import (
	"context"
	"fmt"
	"strings"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"

	"github.com/envop/envop/internal/render"
)

// DiffAction is what a sync would do to one object.
type DiffAction string

// The actions of an ObjectDiff.
const (
	DiffCreate    DiffAction = "create"
	DiffUpdate    DiffAction = "update"
	DiffDelete    DiffAction = "delete"
	DiffUnchanged DiffAction = "unchanged"
)

// ObjectDiff is what a sync would do to one object.
type ObjectDiff struct {
	Kind, Name string
	// Service is the object's service (its name label); "" for objects of
	// the whole environment.
	Service string
	Action  DiffAction
	// Diff is, for an update, a unified diff of the compared fields (live
	// to applied); for a create, the object's fields, each line after a
	// '+'. Values of Secrets are masked.
	Diff string
	// Err is set, and Action empty, when the object could not be compared;
	// it does not repeat the kind and name.
	Err error
}

// Diff is what a sync of some desired objects would change.
type Diff struct {
	// Objects are the desired objects in apply order, then the objects
	// pruning would delete.
	Objects []ObjectDiff
	// Notes tell of objects a sync leaves alone though nothing renders
	// them any more: claims kept, a desired set suddenly empty.
	Notes []string
}

// Failed counts the objects that could not be compared.
func (d *Diff) Failed() int { return d.count(func(o ObjectDiff) bool { return o.Err != nil }) }

// Changes counts the objects a sync would create, update or delete.
func (d *Diff) Changes() int {
	return d.count(func(o ObjectDiff) bool { return o.Err == nil && o.Action != DiffUnchanged })
}

func (d *Diff) count(f func(ObjectDiff) bool) int {
	n := 0
	for _, o := range d.Objects {
		if f(o) {
			n++
		}
	}
	return n
}

// Diff says what applying and pruning desired would change, writing
// nothing: each object is server-side applied as a dry run with the
// Applier's field manager and compared with the live object, and the
// objects pruning would delete are the inventory's members that desired
// does not list (as Prune chooses them: objects outside the inventory are
// never pruned). keep lists objects that are neither applied nor pruned
// (Secrets Vault fills, which a diff does not read). Diff changes nothing
// in the Applier either: an inventory not loaded yet is read, or worked out
// from the live objects, as the first Apply or Prune would.
func (a *Applier) Diff(ctx context.Context, desired, keep []*unstructured.Unstructured, adopt Adopt) (*Diff, error) {
	members, err := a.inventoryView(ctx)
	if err != nil {
		return nil, fmt.Errorf("diff: %w", err)
	}
	ordered := make([]*unstructured.Unstructured, 0, len(desired))
	for _, stage := range stages(desired) {
		ordered = append(ordered, stage...)
	}
	refused, _ := a.refusalsOf(ctx, ordered, a.listLive(ctx, ordered), adopt, func(live *unstructured.Unstructured) bool {
		l := live.GetLabels()
		return l[render.LabelManagedBy] == render.ManagedBy && l[render.LabelEnvironment] == a.opts.Environment && members[keyOf(live)]
	})
	d := &Diff{Objects: a.compareAll(ctx, ordered, refused)}
	if err := a.diffPrunes(ctx, d, members, append(ordered, keep...)); err != nil {
		return nil, fmt.Errorf("diff: %w", err)
	}
	return d, nil
}

// compareAll compares objs concurrently; the diffs keep their order. The
// objects of a refused service are not compared: a sync would apply
// nothing of it (NotOwnedError), and saying what it would change would
// not be true.
func (a *Applier) compareAll(ctx context.Context, objs []*unstructured.Unstructured, refused map[string]*NotOwnedError) []ObjectDiff {
	out := make([]ObjectDiff, len(objs))
	sem := make(chan struct{}, a.opts.Workers)
	var wg sync.WaitGroup
	for i, obj := range objs {
		if err := refused[serviceOf(obj)]; err != nil {
			out[i] = ObjectDiff{Kind: obj.GetKind(), Name: obj.GetName(), Service: serviceOf(obj), Err: err}
			continue
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			out[i] = a.compare(ctx, obj)
		})
	}
	wg.Wait()
	return out
}

// compare dry-runs the apply of obj and compares the result with the live
// object.
func (a *Applier) compare(ctx context.Context, obj *unstructured.Unstructured) ObjectDiff {
	od := ObjectDiff{Kind: obj.GetKind(), Name: obj.GetName(), Service: serviceOf(obj)}
	live, dry, err := a.dryRun(ctx, obj)
	if err == nil {
		od.Action, od.Diff, err = describe(live, dry)
	}
	if err != nil {
		od.Action, od.Err = "", err
	}
	return od
}

// describe is what turning live (nil: none) into dry changes.
func describe(live, dry *unstructured.Unstructured) (DiffAction, string, error) {
	live, dry = maskSecret(live, dry)
	after, err := comparable(dry)
	if err != nil {
		return "", "", err
	}
	if live == nil {
		var b strings.Builder
		for _, l := range splitLines(after) {
			b.WriteString("+" + l + "\n")
		}
		return DiffCreate, b.String(), nil
	}
	before, err := comparable(live)
	if err != nil {
		return "", "", err
	}
	if before == after {
		return DiffUnchanged, "", nil
	}
	title := dry.GetKind() + " " + dry.GetName()
	var b strings.Builder
	fmt.Fprintf(&b, "--- live %s\n+++ applied %s\n", title, title)
	writeUnified(&b, diffLines(splitLines(before), splitLines(after)))
	return DiffUpdate, b.String(), nil
}

// dryRunAttempts bounds how often dryRun starts again because a controller
// changed the object between the read and the dry run.
const dryRunAttempts = 3

// dryRun reads the live object (nil when there is none) and dry-runs the
// apply of obj. Controllers write to live objects all the time (the
// deployment controller's revision annotation, for one); when the object
// changed between the read and the dry run, the dry run started from a
// newer object than the one read, so both are taken again.
func (a *Applier) dryRun(ctx context.Context, obj *unstructured.Unstructured) (live, dry *unstructured.Unstructured, err error) {
	if err := a.admit(obj); err != nil {
		return nil, nil, err
	}
	desired, _, err := withHash(obj)
	if err != nil {
		return nil, nil, err
	}
	mapping, err := a.mapper.mapping(desired.GroupVersionKind())
	if err != nil {
		return nil, nil, err
	}
	ri := a.resource(mapping).Namespace(a.opts.Namespace)
	for attempt := 1; ; attempt++ {
		if live, err = readLive(ctx, ri, desired); err != nil {
			return nil, nil, err
		}
		dry, err = ri.Apply(ctx, desired.GetName(), desired, metav1.ApplyOptions{
			FieldManager: a.opts.FieldManager, Force: true, DryRun: []string{metav1.DryRunAll},
		})
		if err != nil {
			return nil, nil, fmt.Errorf("dry-run apply: %w", err)
		}
		if live == nil || attempt == dryRunAttempts {
			return live, dry, nil
		}
		again, err := readLive(ctx, ri, desired)
		if err != nil {
			return nil, nil, err
		}
		if again != nil && again.GetResourceVersion() == live.GetResourceVersion() {
			return live, dry, nil
		}
	}
}

// readLive reads the live object of obj's name, nil when there is none. It
// lists by name rather than getting: list is the verb the operator holds.
func readLive(ctx context.Context, ri dynamic.ResourceInterface, obj *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	l, err := ri.List(ctx, metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("metadata.name", obj.GetName()).String()})
	if err != nil {
		return nil, fmt.Errorf("read live object: %w", err)
	}
	if len(l.Items) == 0 {
		return nil, nil
	}
	live := &l.Items[0]
	live.SetGroupVersionKind(obj.GroupVersionKind())
	return live, nil
}

// comparable is obj as YAML without what the server or the applier
// changes on every write.
func comparable(obj *unstructured.Unstructured) (string, error) {
	c := obj.DeepCopy()
	for _, f := range []string{"managedFields", "resourceVersion", "generation", "creationTimestamp", "uid", "selfLink"} {
		unstructured.RemoveNestedField(c.Object, "metadata", f)
	}
	unstructured.RemoveNestedField(c.Object, "status")
	if a := c.GetAnnotations(); a != nil {
		delete(a, AnnotationAppliedHash)
		if len(a) == 0 {
			unstructured.RemoveNestedField(c.Object, "metadata", "annotations")
		} else {
			c.SetAnnotations(a)
		}
	}
	data, err := yaml.Marshal(c.Object)
	if err != nil {
		return "", fmt.Errorf("encode %s %s: %w", obj.GetKind(), obj.GetName(), err)
	}
	return string(data), nil
}

// maskSecret returns copies of a Secret's live and applied forms whose
// values are masked: `***` where they are equal, `*** (before)` and
// `*** (after)` where they differ, so a diff tells a change without
// showing a value. Other kinds are returned as they are.
func maskSecret(live, dry *unstructured.Unstructured) (*unstructured.Unstructured, *unstructured.Unstructured) {
	if dry.GetKind() != "Secret" || dry.GroupVersionKind().Group != "" {
		return live, dry
	}
	dry = dry.DeepCopy()
	var before map[string]any
	if live != nil {
		live = live.DeepCopy()
		before, _, _ = unstructured.NestedMap(live.Object, "data")
	}
	after, _, _ := unstructured.NestedMap(dry.Object, "data")
	masked := func(values map[string]any, other map[string]any, differs string) map[string]any {
		out := make(map[string]any, len(values))
		for k, v := range values {
			out[k] = "***"
			if w, ok := other[k]; !ok || w != v {
				out[k] = "*** (" + differs + ")"
			}
		}
		return out
	}
	if after != nil {
		_ = unstructured.SetNestedMap(dry.Object, masked(after, before, "after"), "data")
	}
	if live != nil && before != nil {
		_ = unstructured.SetNestedMap(live.Object, masked(before, after, "before"), "data")
	}
	unstructured.RemoveNestedField(dry.Object, "stringData")
	return live, dry
}

// diffPrunes adds to d the inventory's members that desired does not list,
// as Prune would delete them.
func (a *Applier) diffPrunes(ctx context.Context, d *Diff, members map[objectKey]bool, desired []*unstructured.Unstructured) error {
	var memberKinds []schema.GroupKind
	for k := range members {
		memberKinds = append(memberKinds, k.GroupKind)
	}
	labelled, _, err := a.listManaged(ctx, pruneKinds(desired, append(a.appliedKinds(), memberKinds...)))
	if err != nil {
		return err
	}
	var live []*unstructured.Unstructured
	for _, obj := range labelled {
		if members[keyOf(obj)] {
			live = append(live, obj)
		}
	}
	keep := map[objectKey]bool{}
	for _, obj := range desired {
		keep[keyOf(obj)] = true
	}
	gone := orphans(live, keep)
	if len(desired) == 0 && len(gone) > 0 && !a.opts.AllowEmpty {
		d.Notes = append(d.Notes, fmt.Sprintf("nothing is rendered: a sync refuses to prune all %d managed objects unless the operator runs with --allow-empty", len(gone)))
		return nil
	}
	for _, obj := range gone {
		if obj.GetKind() == "PersistentVolumeClaim" && !a.opts.PruneClaims {
			d.Notes = append(d.Notes, fmt.Sprintf("PersistentVolumeClaim %s is no longer rendered; claims are kept unless the operator runs with --prune-claims", obj.GetName()))
			continue
		}
		d.Objects = append(d.Objects, ObjectDiff{Kind: obj.GetKind(), Name: obj.GetName(), Service: serviceOf(obj), Action: DiffDelete})
	}
	return nil
}

// inventoryView returns the inventory's members without changing the
// Applier: those it holds once loaded, else those recorded, else those the
// first Apply or Prune would record.
func (a *Applier) inventoryView(ctx context.Context) (map[objectKey]bool, error) {
	a.inv.mu.Lock()
	if a.inv.loaded {
		out := make(map[objectKey]bool, len(a.inv.refs))
		for k := range a.inv.refs {
			out[k] = true
		}
		a.inv.mu.Unlock()
		return out, nil
	}
	a.inv.mu.Unlock()
	refs, found, err := a.loadInventory(ctx)
	if err != nil {
		return nil, err
	}
	if !found {
		if refs, err = a.bootstrapInventory(ctx); err != nil {
			return nil, err
		}
	}
	out := make(map[objectKey]bool, len(refs))
	for _, r := range refs {
		k, err := parseRef(r)
		if err != nil {
			return nil, fmt.Errorf("load inventory: %w", err)
		}
		out[k] = true
	}
	return out, nil
}
