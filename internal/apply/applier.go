package apply

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"

	"github.com/envop/envop/internal/render"
)

// Applier applies and prunes the objects of one environment. It remembers
// what it applied, so it is meant to live as long as the operator; it is
// safe for concurrent use, though Apply calls are meant to run one at a time.
type Applier struct {
	opts Options
	dyn  dynamic.Interface
	// meta lists live objects as metadata only: labels, annotations and
	// managed fields are all the skip check and pruning read, and whole
	// objects would cost far more memory on every resync.
	meta   metadata.Interface
	mapper *mapper

	mu      sync.Mutex
	applied map[objectKey]record
	// applying counts the applies of an object in flight: the watch events
	// they cause are not drift (see WatchDrift).
	applying map[objectKey]int
	kinds    map[schema.GroupKind]bool // see RememberKinds
	inv      inventory
	watch    *driftWatch // see WatchDrift
}

// objectKey names an object in the Applier's namespace.
type objectKey struct {
	schema.GroupKind
	Name string
}

func keyOf(obj *unstructured.Unstructured) objectKey {
	return objectKey{GroupKind: obj.GroupVersionKind().GroupKind(), Name: obj.GetName()}
}

// record is what the last apply of an object left: the hash of the desired
// object and our field manager's entry in the server's answer.
type record struct {
	hash   string
	fields string
	// before are our entries the object had before this apply: the watch
	// may still deliver those older states after the apply, and they are
	// not drift.
	before []string
}

// New returns an Applier using cfg, with its rate limits raised to
// opts.QPS and opts.Burst.
func New(cfg *rest.Config, opts Options) (*Applier, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = opts.QPS, opts.Burst
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("apply: dynamic client: %w", err)
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("apply: discovery client: %w", err)
	}
	md, err := metadata.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("apply: metadata client: %w", err)
	}
	return &Applier{opts: opts, dyn: dyn, meta: md, mapper: newMapper(dc),
		applied: map[objectKey]record{}, applying: map[objectKey]int{}}, nil
}

// Apply server-side applies objs, stage by stage (configuration, claims and
// Roles; RoleBindings; workloads; Services, Ingresses and HPAs; custom
// resources), each stage concurrently. It never stops at a failure: every object gets a
// Change. Apply does not modify objs.
//
// Apply changes only objects envop created for the environment (see
// owns): when an object of a desired name exists without being envop's,
// nothing of its service is applied (a NotOwnedError), unless adopt says
// the service may take it over. Objects about to be created or adopted
// join the inventory before they are written, so a crash never leaves an
// object envop made outside it.
//
// An object costs no write when its desired hash equals the one this
// Applier last applied and our field manager's managedFields entry in the
// live object is the one that apply returned: another manager taking one of
// our fields (kubectl edit, a forced apply) changes that entry, so drift is
// re-applied. After a restart, with nothing remembered, the object is
// skipped only when its AnnotationAppliedHash equals the desired hash and
// our Apply entry still owns every field of the desired object (see
// ownsAll); otherwise it is applied once and remembered.
func (a *Applier) Apply(ctx context.Context, objs []*unstructured.Unstructured, adopt Adopt) *ChangeSet {
	start := time.Now()
	cs := &ChangeSet{}
	if err := a.ensureInventory(ctx); err != nil {
		return failAll(objs, err)
	}
	live := a.listLive(ctx, objs)
	refused := a.refusals(ctx, objs, live, adopt)
	if err := a.recordIntent(ctx, objs, refused); err != nil {
		return failAll(objs, err)
	}
	held := map[string]string{}
	for _, stage := range stages(objs) {
		changes := a.applyStage(ctx, stage, live, refused, held)
		holdRoutes(held, changes)
		cs.Changes = append(cs.Changes, changes...)
	}
	a.watchCustom(ctx, kindsOf(objs))
	counts := cs.Counts()
	a.opts.Logger.Info("applied", "namespace", a.opts.Namespace, "objects", len(objs),
		"created", counts[Created], "configured", counts[Configured], "unchanged", counts[Unchanged],
		"refused", len(refused), "failed", counts[Failed], "duration", time.Since(start))
	return cs
}

// recordIntent adds to the inventory, and saves, the objects about to be
// applied: those of services not refused.
func (a *Applier) recordIntent(ctx context.Context, objs []*unstructured.Unstructured, refused map[string]*NotOwnedError) error {
	var keys []objectKey
	for _, obj := range objs {
		if refused[serviceOf(obj)] == nil {
			keys = append(keys, keyOf(obj))
		}
	}
	a.inv.add(keys...)
	return a.saveInventory(ctx)
}

// failAll is the outcome when nothing could be applied.
func failAll(objs []*unstructured.Unstructured, err error) *ChangeSet {
	cs := &ChangeSet{}
	for _, obj := range objs {
		cs.Changes = append(cs.Changes, Change{Kind: obj.GetKind(), Name: obj.GetName(), Service: serviceOf(obj),
			Action: Failed, Err: fmt.Errorf("apply %s %s: %w", obj.GetKind(), obj.GetName(), err)})
	}
	return cs
}

// stages groups objs by apply stage, each sorted by render.Sort.
// RoleBindings wait for the Roles: the operator holds no `bind`, so the API
// server allows a binding only once the Role it names exists and grants
// nothing the operator lacks (docs/install.md).
func stages(objs []*unstructured.Unstructured) [][]*unstructured.Unstructured {
	bindings, workloads, routes := render.Rank("RoleBinding"), render.Rank("Deployment"), render.Rank("Service")
	custom := len(render.KindOrder)
	var out [5][]*unstructured.Unstructured
	for _, obj := range objs {
		r := render.Rank(obj.GetKind())
		switch {
		case r >= custom:
			out[4] = append(out[4], obj)
		case r >= routes:
			out[3] = append(out[3], obj)
		case r >= workloads:
			out[2] = append(out[2], obj)
		case r >= bindings:
			out[1] = append(out[1], obj)
		default:
			out[0] = append(out[0], obj)
		}
	}
	var nonEmpty [][]*unstructured.Unstructured
	for _, s := range out {
		if len(s) > 0 {
			s = append([]*unstructured.Unstructured(nil), s...)
			render.Sort(s)
			nonEmpty = append(nonEmpty, s)
		}
	}
	return nonEmpty
}

// applyStage applies one stage with a bounded pool of workers; the changes
// keep the order of stage.
func (a *Applier) applyStage(ctx context.Context, stage []*unstructured.Unstructured, live *liveObjects,
	refused map[string]*NotOwnedError, held map[string]string) []Change {
	changes := make([]Change, len(stage))
	sem := make(chan struct{}, a.opts.Workers)
	var wg sync.WaitGroup
	for i, obj := range stage {
		if err := refused[serviceOf(obj)]; err != nil {
			changes[i] = refusedChange(obj, err)
			continue
		}
		if why, ok := held[serviceOf(obj)]; ok {
			changes[i] = Change{Kind: obj.GetKind(), Name: obj.GetName(), Service: serviceOf(obj), Action: Skipped, Reason: why}
			continue
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			changes[i] = a.applyOne(ctx, obj, live)
		})
	}
	wg.Wait()
	return changes
}

// holdRoutes records the services whose workload failed to apply: the
// later stages leave their Services, Ingresses and autoscalers as they are,
// so traffic is never moved to pods that do not exist (a Service whose
// selector changed while its Deployment, whose selector cannot change, was
// refused would match no pod at all).
func holdRoutes(held map[string]string, changes []Change) {
	for _, ch := range changes {
		if ch.Action == Failed && ch.Service != "" && workloadKinds[ch.Kind] {
			held[ch.Service] = fmt.Sprintf("%s %s was not applied: the service's routes are left as they are", ch.Kind, ch.Name)
		}
	}
}

// workloadKinds are the kinds that run a service's pods.
var workloadKinds = map[string]bool{"Deployment": true, "StatefulSet": true, "Job": true, "CronJob": true}

func (a *Applier) remember(key objectKey, r record) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.applied[key] = r
}

// startApplying marks an apply of key in flight.
func (a *Applier) startApplying(key objectKey) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.applying[key]++
}

// doneApplying ends an apply of key: r is what it left, if anything; a
// failed one forgets the object, so the next Apply writes it again.
func (a *Applier) doneApplying(key objectKey, r *record, failed bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.applying[key]--; a.applying[key] <= 0 {
		delete(a.applying, key)
	}
	switch {
	case failed:
		delete(a.applied, key)
	case r != nil:
		a.applied[key] = *r
	}
}

func (a *Applier) recall(key objectKey) (record, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	r, ok := a.applied[key]
	return r, ok
}

func (a *Applier) forget(key objectKey) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.applied, key)
}

// RememberKinds adds kinds pruning lists from now on, as if this Applier
// had applied objects of them: custom resource kinds an operator applied
// before it restarted, which the desired objects may no longer name.
func (a *Applier) RememberKinds(kinds ...schema.GroupKind) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, gk := range kinds {
		if a.kinds == nil {
			a.kinds = map[schema.GroupKind]bool{}
		}
		a.kinds[gk] = true
	}
}

// appliedKinds are the kinds of the inventory's members (every object
// applied joins it first) and the kinds remembered on their own, sorted.
func (a *Applier) appliedKinds() []schema.GroupKind {
	a.mu.Lock()
	remembered := slices.Collect(maps.Keys(a.kinds))
	a.mu.Unlock()
	return a.inv.kinds(remembered...)
}
