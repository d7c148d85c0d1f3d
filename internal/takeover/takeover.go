// Package takeover finds what the original Environment Operator made in a
// namespace, so that envop takes its objects over without downtime: the
// workloads keep their pod selectors (which cannot change), blue/green
// services keep the colour that serves, and the version each workload runs
// stays until the next intent (docs/migrating.md).
package takeover

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"

	"github.com/envop/envop/internal/manifest"
	"github.com/envop/envop/internal/plan"
	"github.com/envop/envop/internal/render"
)

// The original Environment Operator's mark on everything it made, and the
// annotations it kept on a Service.
const (
	LabelCreator           = "creator"
	CreatorPipeline        = "pipeline"
	AnnotationMethod       = "deployment_method"
	AnnotationActiveColour = "deployment_active"
)

// selector selects the original's objects.
var selector = LabelCreator + "=" + CreatorPipeline

// Original says whether an object's labels mark it as made by the original
// Environment Operator and not by envop. envop takes such an object of a
// name the file renders over without `adopt: true` (docs/security.md); an
// object of the operator's own installation never is.
func Original(labels map[string]string) bool {
	return labels[LabelCreator] == CreatorPipeline && labels[render.LabelManagedBy] != render.ManagedBy &&
		!render.IsInstallation(labels)
}

// Workload is a Deployment or StatefulSet the original made.
type Workload struct {
	Kind string
	Name string
	// Selector is its pod selector; Keepable says it has only labels to
	// match (the original never wrote expressions), so envop can render it.
	Selector map[string]string
	Keepable bool
	// Version is the version it runs: the original's version label.
	Version string
}

// Object is any object the original made.
type Object struct {
	Kind, Name string
}

func (o Object) String() string { return o.Kind + " " + o.Name }

// Found is what the original left in a namespace.
type Found struct {
	// Workloads by name.
	Workloads map[string]Workload
	// Active is the colour each blue/green parent Service routes to, by the
	// Service's name, from its deployment_active annotation.
	Active map[string]string
	// Objects are every object found, sorted by kind and name.
	Objects []Object
	// TLSSecrets are the Secrets the original's Ingresses named for TLS,
	// by Ingress name.
	TLSSecrets map[string]string
	// Claims are the PersistentVolumeClaims it made, by name.
	Claims map[string]bool
}

// Namespace is a namespace the original may have run in.
type Namespace struct {
	Client kubernetes.Interface
	Name   string
}

// Find lists what the original made in the namespace: one request per
// kind it rendered.
func (n Namespace) Find(ctx context.Context) (*Found, error) {
	client, namespace := n.Client, n.Name
	f := &Found{Workloads: map[string]Workload{}, Active: map[string]string{}, TLSSecrets: map[string]string{},
		Claims: map[string]bool{}}
	opts := metav1.ListOptions{LabelSelector: selector}
	add := func(kind string, m metav1.ObjectMeta) bool {
		if !Original(m.Labels) {
			return false
		}
		f.Objects = append(f.Objects, Object{Kind: kind, Name: m.Name})
		return true
	}
	deployments, err := client.AppsV1().Deployments(namespace).List(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("list the original's deployments: %w", err)
	}
	for _, d := range deployments.Items {
		if add("Deployment", d.ObjectMeta) {
			f.addWorkload("Deployment", d.ObjectMeta, d.Spec.Selector)
		}
	}
	statefulSets, err := client.AppsV1().StatefulSets(namespace).List(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("list the original's statefulsets: %w", err)
	}
	for _, s := range statefulSets.Items {
		if add("StatefulSet", s.ObjectMeta) {
			f.addWorkload("StatefulSet", s.ObjectMeta, s.Spec.Selector)
		}
	}
	services, err := client.CoreV1().Services(namespace).List(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("list the original's services: %w", err)
	}
	for _, s := range services.Items {
		if add("Service", s.ObjectMeta) {
			if c := s.Annotations[AnnotationActiveColour]; c != "" {
				f.Active[s.Name] = strings.ToLower(c)
			}
		}
	}
	ingresses, err := client.NetworkingV1().Ingresses(namespace).List(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("list the original's ingresses: %w", err)
	}
	for _, in := range ingresses.Items {
		if add("Ingress", in.ObjectMeta) {
			for _, t := range in.Spec.TLS {
				if t.SecretName != "" {
					f.TLSSecrets[in.Name] = t.SecretName
				}
			}
		}
	}
	hpas, err := client.AutoscalingV2().HorizontalPodAutoscalers(namespace).List(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("list the original's autoscalers: %w", err)
	}
	for _, h := range hpas.Items {
		add("HorizontalPodAutoscaler", h.ObjectMeta)
	}
	configMaps, err := client.CoreV1().ConfigMaps(namespace).List(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("list the original's configmaps: %w", err)
	}
	for _, c := range configMaps.Items {
		add("ConfigMap", c.ObjectMeta)
	}
	claims, err := client.CoreV1().PersistentVolumeClaims(namespace).List(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("list the original's claims: %w", err)
	}
	for _, c := range claims.Items {
		if add("PersistentVolumeClaim", c.ObjectMeta) {
			f.Claims[c.Name] = true
		}
	}
	slices.SortFunc(f.Objects, func(a, b Object) int {
		return strings.Compare(a.String(), b.String())
	})
	return f, nil
}

// Delete deletes an object the original made, if it still is one: an
// object envop or anyone else has taken since is left alone. The object
// is read by a list of its name (the operator may list and delete these
// kinds, not get them), and the delete is conditional on what was read;
// its pods go with it as the cluster's garbage collector decides.
func (n Namespace) Delete(ctx context.Context, o Object) error {
	opts := metav1.ListOptions{FieldSelector: "metadata.name=" + o.Name}
	var (
		items []metav1.Object
		err   error
		del   func(context.Context, string, metav1.DeleteOptions) error
	)
	switch o.Kind {
	case "Deployment":
		items, err = metas(n.Client.AppsV1().Deployments(n.Name).List(ctx, opts))
		del = n.Client.AppsV1().Deployments(n.Name).Delete
	case "StatefulSet":
		items, err = metas(n.Client.AppsV1().StatefulSets(n.Name).List(ctx, opts))
		del = n.Client.AppsV1().StatefulSets(n.Name).Delete
	case "Service":
		items, err = metas(n.Client.CoreV1().Services(n.Name).List(ctx, opts))
		del = n.Client.CoreV1().Services(n.Name).Delete
	case "Ingress":
		items, err = metas(n.Client.NetworkingV1().Ingresses(n.Name).List(ctx, opts))
		del = n.Client.NetworkingV1().Ingresses(n.Name).Delete
	case "HorizontalPodAutoscaler":
		items, err = metas(n.Client.AutoscalingV2().HorizontalPodAutoscalers(n.Name).List(ctx, opts))
		del = n.Client.AutoscalingV2().HorizontalPodAutoscalers(n.Name).Delete
	case "ConfigMap":
		items, err = metas(n.Client.CoreV1().ConfigMaps(n.Name).List(ctx, opts))
		del = n.Client.CoreV1().ConfigMaps(n.Name).Delete
	default:
		return fmt.Errorf("%s: the original's %s objects are never deleted", o, o.Kind)
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", o, err)
	}
	if len(items) != 1 || !Original(items[0].GetLabels()) {
		return nil
	}
	uid, rv := items[0].GetUID(), items[0].GetResourceVersion()
	policy := metav1.DeletePropagationBackground
	err = del(ctx, o.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid, ResourceVersion: &rv},
		PropagationPolicy: &policy})
	if err != nil {
		return fmt.Errorf("delete %s: %w", o, err)
	}
	return nil
}

// metas returns the objects of a list answer as metav1.Objects.
func metas[L any](list L, err error) ([]metav1.Object, error) {
	if err != nil {
		return nil, err
	}
	items, err := meta.ExtractList(any(list).(runtime.Object))
	if err != nil {
		return nil, err
	}
	out := make([]metav1.Object, 0, len(items))
	for _, it := range items {
		m, err := meta.Accessor(it)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

func (f *Found) addWorkload(kind string, m metav1.ObjectMeta, sel *metav1.LabelSelector) {
	w := Workload{Kind: kind, Name: m.Name, Version: m.Labels["version"]}
	if sel != nil && len(sel.MatchLabels) > 0 && len(sel.MatchExpressions) == 0 {
		w.Selector, w.Keepable = sel.MatchLabels, true
	}
	f.Workloads[m.Name] = w
}

// Taken are the workloads of s the original made and envop takes over
// keeping their selectors: those of its workload names and kind whose
// selectors envop can render.
func (f *Found) Taken(s *manifest.Service, env *manifest.Environment) map[string]plan.Taken {
	kind := "Deployment"
	if s.WorkloadKind() == manifest.KindStatefulSet {
		kind = "StatefulSet"
	}
	taken := map[string]plan.Taken{}
	for _, w := range plan.Workloads(s, env) {
		if o, ok := f.Workloads[w]; ok && o.Keepable && o.Kind == kind {
			taken[w] = plan.Taken{Selector: o.Selector, Version: o.Version}
		}
	}
	return taken
}
