package render

import (
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/envop/envop/internal/manifest"
)

// DefaultCustomResourceAPIVersion is the group/version of legacy `type`
// resources that name no api_version, the original's group.
const DefaultCustomResourceAPIVersion = "prsn.io/v1"

// customResource renders a `type` service as a custom resource: a HelmChart
// or a ServiceEntry from their own fields (mesh.go), any other type with
// its options in spec.options. Its kind is the type with a capital first
// letter (couchbase → Couchbase).
func (r *renderer) customResource(s *manifest.Service) error {
	u := &unstructured.Unstructured{Object: map[string]any{}}
	u.SetGroupVersionKind(CustomResourceKind(s))
	u.SetName(s.Name)
	u.SetNamespace(r.namespace)
	version := r.version(s, s.Name)
	u.SetLabels(r.labels(s.Name, s.Name, version))
	switch {
	case s.IsHelmChart():
		u.Object["spec"] = helmChartSpec(s, version)
	case s.IsServiceEntry():
		u.Object["spec"] = serviceEntrySpec(s)
	default:
		u.Object["spec"] = legacySpec(s, version)
	}
	r.objs = append(r.objs, newObject(u))
	return nil
}

// legacySpec is, as in the original, the options beside the version and
// replicas the resource's own operator acts on.
func legacySpec(s *manifest.Service, version string) map[string]any {
	spec := map[string]any{}
	if len(s.Options) > 0 {
		spec["options"] = deepCopy(s.Options)
	}
	if version != "" {
		spec["version"] = version
	}
	if s.Replicas != nil {
		spec["replicas"] = int64(*s.Replicas)
	}
	return spec
}

// CustomResourceKind is the group, version and kind a `type` service
// renders to; the zero value for any other service. HelmChart and
// ServiceEntry, in any case, are those kinds in their own groups; other
// types are in prsn.io/v1; api_version overrides the group/version.
func CustomResourceKind(s *manifest.Service) schema.GroupVersionKind {
	if !s.IsCustomResource() {
		return schema.GroupVersionKind{}
	}
	def, kind := DefaultCustomResourceAPIVersion, strings.ToUpper(s.Type[:1])+s.Type[1:]
	switch {
	case s.IsHelmChart():
		def, kind = HelmChartKind.GroupVersion().String(), HelmChartKind.Kind
	case s.IsServiceEntry():
		def, kind = ServiceEntryKind.GroupVersion().String(), ServiceEntryKind.Kind
	}
	gv, err := schema.ParseGroupVersion(orDefault(s.CustomResourceAPIVersion(), def))
	if err != nil {
		gv = schema.GroupVersion{Version: s.CustomResourceAPIVersion()} // validation refuses such a file first
	}
	return gv.WithKind(kind)
}

// deepCopy copies the options so callers cannot alter the manifest through
// the rendered object.
func deepCopy(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, x := range t {
			out[k] = deepCopy(x)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			out[i] = deepCopy(x)
		}
		return out
	}
	return v
}
