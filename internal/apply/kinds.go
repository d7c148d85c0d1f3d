package apply

import (
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/restmapper"

	"github.com/envop/envop/internal/render"
)

// kindGroups gives the API group of every kind in render.KindOrder, so
// pruning can list kinds that no desired object names any more.
var kindGroups = map[string]string{
	"Namespace":               "",
	"ConfigMap":               "",
	"Secret":                  "",
	"PersistentVolumeClaim":   "",
	"ServiceAccount":          "",
	"Role":                    "rbac.authorization.k8s.io",
	"RoleBinding":             "rbac.authorization.k8s.io",
	"Deployment":              "apps",
	"StatefulSet":             "apps",
	"Job":                     "batch",
	"CronJob":                 "batch",
	"Service":                 "",
	"Ingress":                 "networking.k8s.io",
	"HorizontalPodAutoscaler": "autoscaling",
}

// mapper maps kinds to resources through cached discovery, refreshing the
// cache once when a kind is unknown (a CRD installed since).
type mapper struct {
	cache  discovery.CachedDiscoveryInterface
	mapper *restmapper.DeferredDiscoveryRESTMapper
}

func newMapper(dc discovery.DiscoveryInterface) *mapper {
	cache := memory.NewMemCacheClient(dc)
	return &mapper{cache: cache, mapper: restmapper.NewDeferredDiscoveryRESTMapper(cache)}
}

// mapping returns the resource of gvk; an empty version means the
// preferred one.
func (m *mapper) mapping(gvk schema.GroupVersionKind) (*meta.RESTMapping, error) {
	versions := []string{}
	if gvk.Version != "" {
		versions = append(versions, gvk.Version)
	}
	mp, err := m.mapper.RESTMapping(gvk.GroupKind(), versions...)
	if meta.IsNoMatchError(err) {
		m.mapper.Reset() // also invalidates the discovery cache
		mp, err = m.mapper.RESTMapping(gvk.GroupKind(), versions...)
	}
	if err != nil {
		return nil, fmt.Errorf("map kind %s: %w", gvk, err)
	}
	return mp, nil
}

// pruneKinds are the namespaced kinds pruning lists: those the renderer
// produces, plus the custom resource kinds of the desired objects and of the
// objects applied before (so the last object of a kind can be pruned).
func pruneKinds(desired []*unstructured.Unstructured, applied []schema.GroupKind) []schema.GroupKind {
	seen := map[schema.GroupKind]bool{}
	var out []schema.GroupKind
	add := func(gk schema.GroupKind) {
		if !seen[gk] && gk.Kind != "Namespace" {
			seen[gk] = true
			out = append(out, gk)
		}
	}
	for _, kind := range render.KindOrder {
		add(schema.GroupKind{Group: kindGroups[kind], Kind: kind})
	}
	for _, obj := range desired {
		add(obj.GroupVersionKind().GroupKind())
	}
	for _, gk := range applied {
		add(gk)
	}
	return out
}
