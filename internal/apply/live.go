package apply

import (
	"context"
	"fmt"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/envop/envop/internal/render"
)

// liveObjects holds every object of a kind in the namespace, as metadata,
// read with one LIST per kind (envop's or not: an object of a desired name
// that envop did not create must be seen to be left alone), so checking a
// few hundred objects costs a few requests. An object of a listed kind that
// is not there does not exist; one of a kind whose list failed is read with
// a GET, once (objs then holds its answer, nil when it does not exist).
type liveObjects struct {
	listed map[schema.GroupKind]bool
	mu     sync.Mutex
	objs   map[objectKey]*unstructured.Unstructured
}

// selector selects the objects of this environment.
func (a *Applier) selector() string {
	return labels.SelectorFromSet(labels.Set{
		render.LabelManagedBy:   render.ManagedBy,
		render.LabelEnvironment: a.opts.Environment,
	}).String()
}

// listLive lists, concurrently, every kind of objs.
func (a *Applier) listLive(ctx context.Context, objs []*unstructured.Unstructured) *liveObjects {
	live := &liveObjects{listed: map[schema.GroupKind]bool{}, objs: map[objectKey]*unstructured.Unstructured{}}
	gvks := map[schema.GroupVersionKind]bool{}
	for _, obj := range objs {
		gvks[obj.GroupVersionKind()] = true
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for gvk := range gvks {
		wg.Go(func() {
			items, err := a.list(ctx, gvk, "")
			if err != nil {
				a.opts.Logger.Debug("list failed, reading objects one by one", "kind", gvk.Kind, "error", err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			live.listed[gvk.GroupKind()] = true
			for i := range items {
				live.objs[keyOf(&items[i])] = &items[i]
			}
		})
	}
	wg.Wait()
	return live
}

// listPage bounds the objects of one list response.
const listPage = 500

// list lists the objects of gvk in the namespace that selector selects.
func (a *Applier) list(ctx context.Context, gvk schema.GroupVersionKind, selector string) ([]unstructured.Unstructured, error) {
	mapping, err := a.mapper.mapping(gvk)
	if err != nil {
		return nil, err
	}
	opts := metav1.ListOptions{LabelSelector: selector, Limit: listPage}
	var items []unstructured.Unstructured
	for {
		l, err := a.meta.Resource(mapping.Resource).Namespace(a.opts.Namespace).List(ctx, opts)
		if err != nil {
			return nil, err
		}
		for i := range l.Items {
			u, err := metadataObject(gvk, &l.Items[i])
			if err != nil {
				return nil, err
			}
			items = append(items, u)
		}
		if opts.Continue = l.GetContinue(); opts.Continue == "" {
			return items, nil
		}
	}
}

// metadataObject turns a listed object's metadata into an Unstructured
// holding its kind and metadata, and no spec.
func metadataObject(gvk schema.GroupVersionKind, m *metav1.PartialObjectMetadata) (unstructured.Unstructured, error) {
	meta, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&m.ObjectMeta)
	if err != nil {
		return unstructured.Unstructured{}, fmt.Errorf("convert metadata of %s: %w", m.Name, err)
	}
	u := unstructured.Unstructured{Object: map[string]any{"metadata": meta}}
	u.SetGroupVersionKind(gvk)
	return u, nil
}

// get returns the live object of key, nil when it does not exist.
func (l *liveObjects) get(ctx context.Context, ri dynamic.ResourceInterface, key objectKey) (*unstructured.Unstructured, error) {
	l.mu.Lock()
	obj, ok := l.objs[key]
	known := ok || l.listed[key.GroupKind]
	l.mu.Unlock()
	if known {
		return obj, nil
	}
	obj, err := notFound(ri.Get(ctx, key.Name, metav1.GetOptions{}))
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	l.objs[key] = obj
	l.mu.Unlock()
	return obj, nil
}
