package controller

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/envop/envop/internal/audit"
	"github.com/envop/envop/internal/plan"
	"github.com/envop/envop/internal/state"
	"github.com/envop/envop/internal/takeover"
)

// Originals finds, and deletes, what the original Environment Operator
// made in the namespace (takeover.Namespace).
type Originals interface {
	Find(ctx context.Context) (*takeover.Found, error)
	Delete(ctx context.Context, o takeover.Object) error
}

// takeOver records what the original Environment Operator left running of
// the services of d (plan.TakeOver): looked for once per process and
// again only when the file names a workload not looked for yet, so a
// steady sync costs no request. The objects it finds are then taken over
// by the apply (package apply); leftOriginals deals with the rest.
func (c *Controller) takeOver(ctx context.Context, d *desired) (*takeover.Found, error) {
	if c.originals == nil {
		return nil, nil
	}
	var names []string
	for i := range d.env.Services {
		for _, w := range plan.Workloads(&d.env.Services[i], d.env) {
			if !c.lookedFor[w] {
				names = append(names, w)
			}
		}
	}
	if len(names) == 0 {
		return nil, nil
	}
	found, err := c.originals.Find(ctx)
	if err != nil {
		return nil, err
	}
	for i := range d.env.Services {
		s := &d.env.Services[i]
		taken := found.Taken(s, d.env)
		if len(taken) == 0 {
			continue
		}
		changed := false
		_, err := c.store.Update(ctx, s.Name, func(svc *state.Service) error {
			changed = plan.TakeOver(s, d.env, svc, taken, found.Active[s.Name], c.now())
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("record the original operator's %s: %w", s.Name, err)
		}
		if changed {
			c.tellTakeOver(ctx, s.Name, d.revision, taken)
		}
	}
	if c.lookedFor == nil {
		c.lookedFor = map[string]bool{}
	}
	for _, w := range names {
		c.lookedFor[w] = true
	}
	return found, nil
}

// tellTakeOver logs and audits that envop took a service over from the
// original operator, with what each workload keeps.
func (c *Controller) tellTakeOver(ctx context.Context, service, revision string, taken map[string]plan.Taken) {
	var kept []string
	for _, w := range slices.Sorted(maps.Keys(taken)) {
		k := fmt.Sprintf("%s keeps selector %s", w, labels.FormatLabels(taken[w].Selector))
		if v := taken[w].Version; v != "" {
			k += " and version " + v
		}
		kept = append(kept, k)
	}
	msg := "taken over from the original Environment Operator: " + strings.Join(kept, "; ")
	c.log.Info("taking over from the original operator", "service", service, "workloads", len(taken))
	c.audit(ctx, audit.Record{Time: c.now(), Actor: "envop", Action: audit.ActionSync, Service: service,
		Revision: revision, Result: audit.ResultSuccess, Message: msg})
}

// leftOriginals reports the objects the original made that the file does
// not render: they are left as they are, and deleted only when the
// operator runs with --prune-adopted (claims never are).
func (c *Controller) leftOriginals(ctx context.Context, found *takeover.Found, objs []*unstructured.Unstructured) {
	if found == nil {
		return
	}
	rendered := map[takeover.Object]bool{}
	for _, obj := range objs {
		rendered[takeover.Object{Kind: obj.GetKind(), Name: obj.GetName()}] = true
	}
	for _, o := range found.Objects {
		if rendered[o] {
			continue
		}
		if !c.cfg.PruneAdopted || o.Kind == "PersistentVolumeClaim" {
			c.log.Warn("original object left", "kind", o.Kind, "name", o.Name,
				"reason", "the environment file renders no object of this name; run with --prune-adopted to delete it")
			continue
		}
		if err := c.originals.Delete(ctx, o); err != nil {
			c.log.Error("original object not deleted", "kind", o.Kind, "name", o.Name, "error", err)
			continue
		}
		c.log.Info("original object deleted", "kind", o.Kind, "name", o.Name)
		c.events.On(o.Kind, o.Name, corev1.EventTypeNormal, EventPruned,
			fmt.Sprintf("%s %s, made by the original Environment Operator, is not in the environment file: deleted (--prune-adopted)", o.Kind, o.Name))
		c.audit(ctx, audit.Record{Time: c.now(), Actor: "envop", Action: audit.ActionSync,
			Result: audit.ResultSuccess, Message: fmt.Sprintf("deleted %s, made by the original Environment Operator (--prune-adopted)", o)})
	}
}
