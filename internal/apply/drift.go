package apply

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/tools/cache"

	"github.com/envop/envop/internal/render"
)

// WatchDrift watches the environment's objects of every kind the renderer
// produces, as metadata only, and calls notify when one this Applier
// applied drifted: another manager took a field envop owns (kubectl edit,
// scale, a forced apply), or the object was deleted by someone else. The
// next Apply reverts it and says so in its Change (Reverted). Fields envop
// does not own (replicas under an autoscaler, annotations other
// controllers add) and status updates are not drift. It returns once the
// watches have listed the objects; they stop when ctx ends.
//
// The custom resource kinds of render.KnownCustomKinds join the watch
// once this Applier applies an object of one (see watchCustom), as do those
// its inventory already holds; legacy `type` kinds are never watched.
func (a *Applier) WatchDrift(ctx context.Context, notify func()) error {
	factory := metadatainformer.NewFilteredSharedInformerFactory(a.meta, 0, a.opts.Namespace,
		func(o *metav1.ListOptions) { o.LabelSelector = a.selector() })
	w := &driftWatch{ctx: ctx, factory: factory, notify: notify, watched: map[schema.GroupKind]bool{}}
	var synced []cache.InformerSynced
	for _, gk := range pruneKinds(nil, nil) {
		inf, err := a.watchKind(w, gk)
		if err != nil {
			return fmt.Errorf("watch for drift: %w", err)
		}
		if inf != nil {
			synced = append(synced, inf.HasSynced)
		}
	}
	factory.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), synced...) {
		return fmt.Errorf("watch for drift: %w", ctx.Err())
	}
	a.mu.Lock()
	a.watch = w
	a.mu.Unlock()
	a.watchCustom(ctx, a.appliedKinds())
	return nil
}

// driftWatch is the watch WatchDrift started, which kinds applied later
// join.
type driftWatch struct {
	ctx     context.Context
	factory metadatainformer.SharedInformerFactory
	notify  func()

	mu      sync.Mutex
	watched map[schema.GroupKind]bool
}

// watchKind adds an informer for gk to w, not started; nil when the
// cluster does not serve gk.
func (a *Applier) watchKind(w *driftWatch, gk schema.GroupKind) (cache.SharedIndexInformer, error) {
	m, err := a.mapper.mapping(gk.WithVersion(""))
	if meta.IsNoMatchError(err) {
		return nil, nil // not served by this cluster: nothing of it to watch
	}
	if err != nil {
		return nil, err
	}
	inf := w.factory.ForResource(m.Resource).Informer()
	if err := inf.SetTransform(a.slimMetadata); err != nil {
		return nil, err
	}
	kind := gk.Kind
	if err := inf.SetWatchErrorHandler(func(_ *cache.Reflector, err error) {
		a.opts.Logger.Warn("drift watch failed", "kind", kind, "error", err)
	}); err != nil {
		return nil, err
	}
	if _, err := inf.AddEventHandler(a.driftHandler(gk, w.notify)); err != nil {
		return nil, err
	}
	w.watched[gk] = true
	return inf, nil
}

// customSyncWait bounds how long an Apply waits for the first list of a
// custom kind that joins the drift watch; a watch the operator may not
// make (its rights lack watch) must not hold the sync.
const customSyncWait = 2 * time.Second

// watchCustom adds to the drift watch, once WatchDrift started it, the
// kinds among kinds that render.KnownCustomKinds names and it does not
// watch yet: those `envop install` grants watch on. A kind the cluster
// does not serve is tried again on a later call.
func (a *Applier) watchCustom(ctx context.Context, kinds []schema.GroupKind) {
	a.mu.Lock()
	w := a.watch
	a.mu.Unlock()
	if w == nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	var synced []cache.InformerSynced
	for _, gk := range kinds {
		if w.watched[gk] || !slices.Contains(render.KnownCustomKinds(), gk) {
			continue
		}
		inf, err := a.watchKind(w, gk)
		if err != nil {
			a.opts.Logger.Warn("drift watch failed", "kind", gk.Kind, "error", err)
			continue
		}
		if inf != nil {
			synced = append(synced, inf.HasSynced)
			a.opts.Logger.Info("drift watch added", "kind", gk.String())
		}
	}
	if len(synced) == 0 {
		return
	}
	w.factory.Start(w.ctx.Done())
	wait, cancel := context.WithTimeout(ctx, customSyncWait)
	defer cancel()
	cache.WaitForCacheSync(wait.Done(), synced...)
}

// kindsOf are the kinds of objs, once each.
func kindsOf(objs []*unstructured.Unstructured) []schema.GroupKind {
	seen := map[schema.GroupKind]bool{}
	var out []schema.GroupKind
	for _, obj := range objs {
		if gk := obj.GroupVersionKind().GroupKind(); !seen[gk] {
			seen[gk] = true
			out = append(out, gk)
		}
	}
	return out
}

// driftHandler calls notify for updates and deletes that are drift.
func (a *Applier) driftHandler(gk schema.GroupKind, notify func()) cache.ResourceEventHandler {
	return cache.ResourceEventHandlerFuncs{
		UpdateFunc: func(_, obj any) {
			if m, ok := obj.(*metav1.PartialObjectMetadata); ok && a.changedByOthers(gk, m) {
				a.opts.Logger.Info("drift seen", "kind", gk.Kind, "name", m.Name, "by", lastWriter(m.ManagedFields, a.opts.FieldManager))
				notify()
			}
		},
		DeleteFunc: func(obj any) {
			if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = tomb.Obj
			}
			if m, ok := obj.(*metav1.PartialObjectMetadata); ok && a.deletedByOthers(gk, m) {
				a.opts.Logger.Info("drift seen", "kind", gk.Kind, "name", m.Name, "by", "deleted")
				notify()
			}
		},
	}
}

// changedByOthers says whether our field manager's entry in m is no longer
// the one our last apply left, nor one it replaced (an older state the
// watch delivers late). While we apply the object, its events are ours.
func (a *Applier) changedByOthers(gk schema.GroupKind, m *metav1.PartialObjectMetadata) bool {
	key := objectKey{GroupKind: gk, Name: m.Name}
	a.mu.Lock()
	defer a.mu.Unlock()
	r, ok := a.applied[key]
	if !ok || a.applying[key] > 0 {
		return false
	}
	entry, _ := ownEntryOf(m.ManagedFields, a.opts.FieldManager)
	for _, known := range append([]string{r.fields}, r.before...) {
		if entry == known || sameJSON(entry, known) {
			return false
		}
	}
	return true
}

// sameJSON says whether two field sets are equal as JSON: a watch may
// serialise them with their keys in another order than an apply's answer.
func sameJSON(a, b string) bool {
	var x, y any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

// deletedByOthers says whether m was an object we applied and did not
// prune (pruning forgets an object before deleting it).
func (a *Applier) deletedByOthers(gk schema.GroupKind, m *metav1.PartialObjectMetadata) bool {
	key := objectKey{GroupKind: gk, Name: m.Name}
	a.mu.Lock()
	defer a.mu.Unlock()
	_, ok := a.applied[key]
	return ok && a.applying[key] == 0
}

// slimMetadata keeps of a watched object what the drift check reads: its
// name, resource version and the managed fields entries without their
// field sets, but for ours. The watch cache then costs little per object.
func (a *Applier) slimMetadata(obj any) (any, error) {
	m, ok := obj.(*metav1.PartialObjectMetadata)
	if !ok {
		return obj, nil
	}
	slim := &metav1.PartialObjectMetadata{TypeMeta: m.TypeMeta, ObjectMeta: metav1.ObjectMeta{
		Name: m.Name, Namespace: m.Namespace, UID: m.UID, ResourceVersion: m.ResourceVersion,
	}}
	for _, mf := range m.ManagedFields {
		if mf.Manager != a.opts.FieldManager {
			mf.FieldsV1 = nil
		}
		slim.ManagedFields = append(slim.ManagedFields, mf)
	}
	return slim, nil
}

// ownEntryOf returns the FieldsV1 of manager's Apply entry.
func ownEntryOf(fields []metav1.ManagedFieldsEntry, manager string) (string, bool) {
	for _, mf := range fields {
		if mf.Manager == manager && mf.Operation == metav1.ManagedFieldsOperationApply &&
			mf.Subresource == "" && mf.FieldsV1 != nil {
			return string(mf.FieldsV1.Raw), true
		}
	}
	return "", false
}

// lastWriter names the manager other than ours that wrote the object last
// (status writes aside), "another manager" when none says so.
func lastWriter(fields []metav1.ManagedFieldsEntry, ours string) string {
	var others []metav1.ManagedFieldsEntry
	for _, mf := range fields {
		if mf.Manager != ours && mf.Subresource == "" && mf.Time != nil {
			others = append(others, mf)
		}
	}
	if len(others) == 0 {
		return "another manager"
	}
	sort.SliceStable(others, func(i, j int) bool { return others[i].Time.Before(others[j].Time) })
	return others[len(others)-1].Manager
}
