package takeover

import (
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
)

// What a takeover does with an object of the original.
const (
	// StepAdopt: envop applies the object as the file renders it, and it is
	// envop's from then on.
	StepAdopt = "adopt"
	// StepKeep: envop takes the object over and leaves part of it, or all
	// of it, as it is.
	StepKeep = "keep"
	// StepRename: what the original named one way, envop names another.
	StepRename = "rename"
	// StepLeave: the file renders no object of this name; it stays as it
	// is (deleted with --prune-adopted, claims never).
	StepLeave = "leave"
	// StepDelete: as StepLeave, with --prune-adopted.
	StepDelete = "delete"
)

// Step is what a takeover does with one object, and why.
type Step struct {
	Kind   string `json:"kind"`
	Name   string `json:"name"`
	Action string `json:"action"`
	Why    string `json:"why"`
}

// Report says what envop does, taking over what found holds with the
// objects rendered (rendered with the selectors of Taken), without
// changing anything. The steps are in the order of found.Objects.
func Report(found *Found, rendered []*unstructured.Unstructured, pruneAdopted bool) []Step {
	byKey := map[Object]*unstructured.Unstructured{}
	for _, obj := range rendered {
		byKey[Object{Kind: obj.GetKind(), Name: obj.GetName()}] = obj
	}
	var steps []Step
	for _, o := range found.Objects {
		obj, ok := byKey[o]
		if !ok {
			steps = append(steps, leaveStep(o, pruneAdopted))
			continue
		}
		steps = append(steps, adoptStep(found, o, obj)...)
	}
	return steps
}

func leaveStep(o Object, pruneAdopted bool) Step {
	s := Step{Kind: o.Kind, Name: o.Name, Action: StepLeave,
		Why: "the environment file renders no " + o.Kind + " of this name: left as it is (serve --prune-adopted deletes it)"}
	switch {
	case o.Kind == "PersistentVolumeClaim":
		s.Why = "the environment file mounts no claim of this name: left as it is (claims are never deleted)"
	case pruneAdopted:
		s.Action, s.Why = StepDelete, "the environment file renders no "+o.Kind+" of this name: deleted (--prune-adopted)"
	}
	return s
}

func adoptStep(found *Found, o Object, obj *unstructured.Unstructured) []Step {
	step := Step{Kind: o.Kind, Name: o.Name, Action: StepAdopt,
		Why: "made by the original (creator: pipeline) and rendered by the file: envop applies it and owns every field from then on"}
	switch o.Kind {
	case "Deployment", "StatefulSet":
		w := found.Workloads[o.Name]
		if !w.Keepable {
			step.Why = "its selector uses expressions, which envop cannot keep: the apply fails (spec.selector is immutable); delete it to let envop create it"
			break
		}
		step.Action = StepKeep
		step.Why = fmt.Sprintf("taken over keeping its selector %s (a selector cannot change); its pods gain envop's labels in one rolling update", labels.FormatLabels(w.Selector))
		if w.Version != "" {
			step.Why += "; it keeps running " + w.Version + " until a deploy or a commit that changes the version"
		}
	case "Service":
		if colour, ok := found.Active[o.Name]; ok {
			step.Action = StepKeep
			step.Why = "taken over keeping its traffic on " + colour + " (its deployment_active) until a promotion or a commit that changes active"
		}
	case "PersistentVolumeClaim":
		step.Action = StepKeep
		step.Why = "taken over as it is: a bound claim's spec cannot change, and it holds the data"
	case "ConfigMap":
		step.Why = "a gist of the file: envop writes it from the file's content and owns it from then on"
	}
	steps := []Step{step}
	if o.Kind == "Ingress" {
		if old, ok := found.TLSSecrets[o.Name]; ok {
			if now := tlsSecret(obj); now != "" && now != old {
				steps = append(steps, Step{Kind: "Secret", Name: old, Action: StepRename,
					Why: fmt.Sprintf("Ingress %s took its certificate from Secret %s; envop names it %s: set tls_secret: %s on the service to keep using it", o.Name, old, now, old)})
			}
		}
	}
	return steps
}

// tlsSecret is the Secret a rendered Ingress names for TLS, "" when none.
func tlsSecret(obj *unstructured.Unstructured) string {
	tls, _, _ := unstructured.NestedSlice(obj.Object, "spec", "tls")
	for _, t := range tls {
		if m, ok := t.(map[string]any); ok {
			if name, ok := m["secretName"].(string); ok {
				return name
			}
		}
	}
	return ""
}
