package apply

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/envop/envop/internal/render"
)

// InventoryStore keeps the inventory between restarts: the references of
// every object envop applied for the environment (see docs/security.md).
type InventoryStore interface {
	// LoadInventory returns the recorded references; found is false when
	// none were ever recorded (a new environment, or one applied by a
	// version of envop that kept no inventory).
	LoadInventory(ctx context.Context) (refs []string, found bool, err error)
	// SaveInventory records refs, replacing what was recorded.
	SaveInventory(ctx context.Context, refs []string) error
}

// inventory is the set of objects envop created (or adopted) for the
// environment. Only its members are ever modified or pruned: an object of
// the same kind and name that is not a member was made by someone else.
type inventory struct {
	mu     sync.Mutex
	loaded bool
	refs   map[objectKey]bool
	// saved is the set last loaded or written, so that an unchanged
	// inventory costs no write.
	saved string
}

// ref is the text form of an inventory member: Kind.group/name.
func (k objectKey) ref() string { return k.GroupKind.String() + "/" + k.Name }

func parseRef(s string) (objectKey, error) {
	gk, name, ok := strings.Cut(s, "/")
	if !ok || gk == "" || name == "" {
		return objectKey{}, fmt.Errorf("inventory entry %q: want Kind.group/name", s)
	}
	return objectKey{GroupKind: schema.ParseGroupKind(gk), Name: name}, nil
}

func (inv *inventory) has(k objectKey) bool {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	return inv.refs[k]
}

func (inv *inventory) add(keys ...objectKey) {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	for _, k := range keys {
		inv.refs[k] = true
	}
}

// retain keeps the members keep says to keep.
func (inv *inventory) retain(keep func(objectKey) bool) {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	for k := range inv.refs {
		if !keep(k) {
			delete(inv.refs, k)
		}
	}
}

// kinds are the kinds of the members and extra, sorted, so pruning lists
// every kind envop ever applied, custom resources included, even after a
// restart.
func (inv *inventory) kinds(extra ...schema.GroupKind) []schema.GroupKind {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	seen := map[schema.GroupKind]bool{}
	for k := range inv.refs {
		seen[k.GroupKind] = true
	}
	for _, gk := range extra {
		seen[gk] = true
	}
	out := slices.Collect(maps.Keys(seen))
	slices.SortFunc(out, func(a, b schema.GroupKind) int { return strings.Compare(a.String(), b.String()) })
	return out
}

// list is the sorted text form of the members.
func (inv *inventory) list() []string {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	out := make([]string, 0, len(inv.refs))
	for k := range inv.refs {
		out = append(out, k.ref())
	}
	slices.Sort(out)
	return out
}

// ensureInventory loads the inventory once. When none was recorded, it is
// built from the live objects that carry the environment's labels and an
// apply entry of envop's field manager: what an earlier version of envop
// applied. Objects someone else made carry neither.
func (a *Applier) ensureInventory(ctx context.Context) error {
	inv := &a.inv
	inv.mu.Lock()
	loaded := inv.loaded
	inv.mu.Unlock()
	if loaded {
		return nil
	}
	refs, found, err := a.loadInventory(ctx)
	if err != nil {
		return err
	}
	if !found {
		if refs, err = a.bootstrapInventory(ctx); err != nil {
			return err
		}
		a.opts.Logger.Info("inventory built from live objects", "namespace", a.opts.Namespace, "objects", len(refs))
	}
	keys := make(map[objectKey]bool, len(refs))
	for _, r := range refs {
		k, err := parseRef(r)
		if err != nil {
			return fmt.Errorf("load inventory: %w", err)
		}
		keys[k] = true
	}
	inv.mu.Lock()
	inv.refs, inv.loaded = keys, true
	if found {
		inv.saved = strings.Join(refs, "\n")
	}
	inv.mu.Unlock()
	if !found {
		return a.saveInventory(ctx)
	}
	return nil
}

func (a *Applier) loadInventory(ctx context.Context) ([]string, bool, error) {
	if a.opts.Inventory == nil {
		return nil, false, nil
	}
	refs, found, err := a.opts.Inventory.LoadInventory(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("load inventory: %w", err)
	}
	return refs, found, nil
}

func (a *Applier) bootstrapInventory(ctx context.Context) ([]string, error) {
	live, _, err := a.listManaged(ctx, pruneKinds(nil, a.appliedKinds()))
	if err != nil {
		return nil, fmt.Errorf("build inventory: %w", err)
	}
	var refs []string
	for _, obj := range live {
		if _, ok := a.ownEntry(obj); ok {
			refs = append(refs, keyOf(obj).ref())
		}
	}
	return refs, nil
}

// saveInventory writes the inventory when it changed since it was last
// loaded or written.
func (a *Applier) saveInventory(ctx context.Context) error {
	refs := a.inv.list()
	text := strings.Join(refs, "\n")
	a.inv.mu.Lock()
	unchanged := text == a.inv.saved
	a.inv.mu.Unlock()
	if unchanged {
		return nil
	}
	if a.opts.Inventory != nil {
		if err := a.opts.Inventory.SaveInventory(ctx, refs); err != nil {
			return fmt.Errorf("save inventory: %w", err)
		}
	}
	a.inv.mu.Lock()
	a.inv.saved = text
	a.inv.mu.Unlock()
	return nil
}

// owns says whether live is an object envop made for this environment: it
// carries the environment's labels and is a member of the inventory.
func (a *Applier) owns(live *unstructured.Unstructured) bool {
	l := live.GetLabels()
	return l[render.LabelManagedBy] == render.ManagedBy && l[render.LabelEnvironment] == a.opts.Environment &&
		a.inv.has(keyOf(live))
}
