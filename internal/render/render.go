package render

import (
	"errors"
	"fmt"
	"maps"
	goruntime "runtime"
	"slices"
	"sync"
	"sync/atomic"

	"k8s.io/apimachinery/pkg/api/validate/content"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/envop/envop/internal/manifest"
)

// renderer holds one render's inputs and output.
type renderer struct {
	env       *manifest.Environment
	project   string
	namespace string
	opts      Options
	objs      []object
	names     map[objectKey]bool // already rendered
	skipped   []Skipped
	gistHash  map[string]string
}

// Render renders one environment. project is the file's project (the
// part-of label); env must come from a file without errors.
func Render(env *manifest.Environment, project string, opts Options) (*Result, error) {
	if env == nil {
		return nil, errors.New("render: no environment")
	}
	r := &renderer{env: env, project: project, opts: withDefaults(opts), names: map[objectKey]bool{}}
	if r.project == "" {
		r.project = opts.Project
	}
	r.namespace = env.Namespace
	if r.namespace == "" {
		r.namespace = opts.Namespace
	}
	if err := r.gists(); err != nil {
		return nil, err
	}
	r.access()
	if err := r.services(); err != nil {
		return nil, err
	}
	return &Result{Objects: sortObjects(r.objs), Skipped: r.skipped}, nil
}

// objectKey is what makes a rendered object unique in a namespace.
type objectKey struct{ kind, name string }

// object is a rendered object with its key, read once.
type object struct {
	objectKey
	u *unstructured.Unstructured
}

func newObject(u *unstructured.Unstructured) object {
	kind, _ := u.Object["kind"].(string)
	meta, _ := u.Object["metadata"].(map[string]any)
	name, _ := meta["name"].(string)
	return object{objectKey{kind, name}, u}
}

// services renders every service, in parallel: each service only reads the
// shared inputs and writes its own part, and the parts are merged in the
// file's order so the result is the same as rendering one by one. A few
// long-lived workers take the services in turn, so goroutine stacks grow
// once rather than once per service.
func (r *renderer) services() error {
	svcs := r.env.Services
	parts := make([]*renderer, len(svcs))
	errs := make([]error, len(svcs))
	var (
		wg   sync.WaitGroup
		next atomic.Int64
	)
	for range min(goruntime.GOMAXPROCS(0), len(svcs)) {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < len(svcs); i = int(next.Add(1) - 1) {
				parts[i] = r.fork()
				errs[i] = parts[i].service(&svcs[i])
			}
		})
	}
	wg.Wait()
	objects := 0
	for i, part := range parts {
		if errs[i] != nil {
			return fmt.Errorf("render service %q: %w", svcs[i].Name, errs[i])
		}
		objects += len(part.objs)
	}
	r.objs = slices.Grow(r.objs, objects)
	names := make(map[objectKey]bool, len(r.names)+objects)
	maps.Copy(names, r.names)
	r.names = names
	for _, part := range parts {
		r.merge(part)
	}
	return nil
}

// fork returns a renderer sharing r's read-only inputs with empty output.
func (r *renderer) fork() *renderer {
	return &renderer{env: r.env, project: r.project, namespace: r.namespace, opts: r.opts,
		names: map[objectKey]bool{}, gistHash: r.gistHash}
}

// merge appends part's output, dropping objects already rendered (a claim
// two services share keeps its first rendering).
func (r *renderer) merge(part *renderer) {
	for _, o := range part.objs {
		if r.names[o.objectKey] {
			continue
		}
		r.names[o.objectKey] = true
		r.objs = append(r.objs, o)
	}
	r.skipped = append(r.skipped, part.skipped...)
}

func withDefaults(o Options) Options {
	if o.DefaultLimits == nil {
		o.DefaultLimits = DefaultLimits()
	}
	if o.DefaultRequests == nil {
		o.DefaultRequests = DefaultRequests()
	}
	return o
}

func (r *renderer) service(s *manifest.Service) error {
	if s.IsCustomResource() {
		return r.customResource(s)
	}
	merged := mergePresets(r.env, s)
	if err := r.claims(merged); err != nil {
		return err
	}
	if merged.IsBlueGreen(r.env) {
		return r.blueGreen(merged)
	}
	version := r.version(merged, merged.Name)
	if err := r.workload(merged, merged.Name, version); err != nil {
		return err
	}
	r.networking(merged, merged.Name, version, merged.ExternalURL, merged.Name)
	r.meshRoutes(merged, r.labels(merged.Name, merged.Name, version))
	return nil
}

// version is the version of a workload: what the API deployed, else the
// file's, else the tag of an image reference.
func (r *renderer) version(s *manifest.Service, workload string) string {
	if v := r.opts.Versions[workload]; v != "" {
		return v
	}
	if s.Version != "" {
		return s.Version
	}
	return imageTag(s.Image)
}

// add converts a typed object and records it; a second object of the same
// kind and name (a claim two services share) is dropped.
func (r *renderer) add(obj runtime.Object) error {
	u, err := toUnstructured(obj)
	if err != nil {
		return err
	}
	o := newObject(u)
	if r.names[o.objectKey] {
		return nil
	}
	r.names[o.objectKey] = true
	r.objs = append(r.objs, o)
	return nil
}

func (r *renderer) skip(s *manifest.Service, workload, reason string) {
	r.skipped = append(r.skipped, Skipped{Service: s.Name, Workload: workload, Reason: reason})
}

// toUnstructured converts a typed object and strips what the API server
// fills in (status, creationTimestamp) and empty fields, so server-side
// apply does not claim ownership of fields envop never set.
func toUnstructured(obj runtime.Object) (*unstructured.Unstructured, error) {
	m, err := toMap(obj)
	if err != nil {
		return nil, fmt.Errorf("convert %T: %w", obj, err)
	}
	delete(m, "status")
	return &unstructured.Unstructured{Object: m}, nil
}

func validLabelValue(v string) bool { return len(content.IsLabelValue(v)) == 0 }
