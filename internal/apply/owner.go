package apply

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/envop/envop/internal/manifest"
	"github.com/envop/envop/internal/render"
	"github.com/envop/envop/internal/takeover"
)

// ReasonNotOwned is the reason of a service refused because an object of
// one of its names exists that envop did not create.
const ReasonNotOwned = "NotOwned"

// Adopt says whether envop may take over a desired object that exists but
// that it did not create (a service with `adopt: true`). Nil adopts nothing.
type Adopt func(desired *unstructured.Unstructured) bool

// NotOwnedError is an object envop would have to overwrite to apply a
// service: it exists, and envop did not create it for this environment.
type NotOwnedError struct {
	Kind, Name, Service, Environment string
	// Installation marks objects of the operator's own installation, which
	// are never taken over, adopt or not.
	Installation bool
}

func (e *NotOwnedError) Error() string {
	what := fmt.Sprintf("%s %s exists and was not created by envop for environment %q: it is left untouched", e.Kind, e.Name, e.Environment)
	if e.Installation {
		return what + " (it belongs to the operator's installation and is never taken over)"
	}
	return fmt.Sprintf("%s (rename service %s, remove the object, or set adopt: true on service %s to let envop take it over)", what, e.Service, e.Service)
}

// serviceOf is the service an object belongs to: its name label.
func serviceOf(obj *unstructured.Unstructured) string { return obj.GetLabels()[render.LabelName] }

// installation says whether live is one of the operator's own objects:
// a reserved name, or the labels `envop install` sets.
func installation(live *unstructured.Unstructured) bool {
	return manifest.IsReserved(live.GetName()) || render.IsInstallation(live.GetLabels())
}

// Adoption lets the services with `adopt: true` take over existing objects
// of their own names; gists and access objects are never adopted.
func Adoption(env *manifest.Environment) Adopt {
	adopt := map[string]bool{}
	for i := range env.Services {
		if env.Services[i].Adopt {
			adopt[env.Services[i].Name] = true
		}
	}
	if len(adopt) == 0 {
		return nil
	}
	return func(obj *unstructured.Unstructured) bool {
		l := obj.GetLabels()
		_, access := l[render.LabelAccess]
		_, gist := obj.GetAnnotations()[render.AnnotationContentHash]
		return adopt[l[render.LabelName]] && !access && !gist
	}
}

// refusals finds, for every desired object that exists without being
// envop's, the service it belongs to: nothing of such a service is applied,
// so that it never runs half taken over. An adoptable object joins the
// inventory instead.
func (a *Applier) refusals(ctx context.Context, objs []*unstructured.Unstructured, live *liveObjects, adopt Adopt) map[string]*NotOwnedError {
	refused, adopted := a.refusalsOf(ctx, objs, live, adopt, a.owns)
	for _, obj := range adopted {
		a.opts.Logger.Info("object adopted", "kind", obj.GetKind(), "name", obj.GetName(), "service", serviceOf(obj))
	}
	return refused
}

// refusalsOf is refusals with owns saying which live objects are envop's;
// it also returns the objects adopt lets envop take over.
func (a *Applier) refusalsOf(ctx context.Context, objs []*unstructured.Unstructured, live *liveObjects, adopt Adopt,
	owns func(*unstructured.Unstructured) bool) (map[string]*NotOwnedError, []*unstructured.Unstructured) {
	refused := map[string]*NotOwnedError{}
	var adopted []*unstructured.Unstructured
	for _, obj := range objs {
		mapping, err := a.mapper.mapping(obj.GroupVersionKind())
		if err != nil {
			continue // fails the object when it is applied
		}
		current, err := live.get(ctx, a.resource(mapping).Namespace(a.opts.Namespace), keyOf(obj))
		if err != nil || current == nil || owns(current) {
			continue
		}
		inst := installation(current)
		if !inst && (takeover.Original(current.GetLabels()) || adopt != nil && adopt(obj)) {
			adopted = append(adopted, obj)
			continue
		}
		svc := serviceOf(obj)
		if _, ok := refused[svc]; !ok {
			refused[svc] = &NotOwnedError{Kind: obj.GetKind(), Name: obj.GetName(), Service: svc,
				Environment: a.opts.Environment, Installation: inst}
		}
	}
	return refused, adopted
}

// refusedChange is the change of an object of a refused service: the
// object in the way fails, the others of the service are skipped.
func refusedChange(obj *unstructured.Unstructured, err *NotOwnedError) Change {
	ch := Change{Kind: obj.GetKind(), Name: obj.GetName(), Service: serviceOf(obj)}
	if ch.Kind == err.Kind && ch.Name == err.Name {
		ch.Action, ch.Reason, ch.Err = Failed, ReasonNotOwned, err
		return ch
	}
	ch.Action, ch.Reason = Skipped, fmt.Sprintf("%s: %s %s is not envop's", ReasonNotOwned, err.Kind, err.Name)
	return ch
}
