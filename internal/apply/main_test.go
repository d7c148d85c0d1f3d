package apply

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"

	"github.com/envop/envop/internal/render"
	"github.com/envop/envop/internal/testcluster"
)

func TestMain(m *testing.M) { os.Exit(testcluster.Main(m)) }

const testEnv = "test"

// writeCounter counts the requests that are not reads: everything but GET
// (which lists and watches are too) and HEAD.
type writeCounter struct {
	mu     sync.Mutex
	writes []string
}

func (w *writeCounter) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripper(func(r *http.Request) (*http.Response, error) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.mu.Lock()
			w.writes = append(w.writes, r.Method+" "+r.URL.Path)
			w.mu.Unlock()
		}
		return rt.RoundTrip(r)
	})
}

func (w *writeCounter) reset() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := w.writes
	w.writes = nil
	return out
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// newApplier returns an Applier on cfg whose write requests are counted.
func newApplier(t *testing.T, cfg *rest.Config, opts Options) (*Applier, *writeCounter) {
	t.Helper()
	w := &writeCounter{}
	cfg = rest.CopyConfig(cfg)
	cfg.Wrap(w.wrap)
	if opts.Environment == "" {
		opts.Environment = testEnv
	}
	a, err := New(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	return a, w
}

// golden loads rendered golden files and moves them to namespace ns and
// environment testEnv.
func golden(t *testing.T, ns string, files ...string) []*unstructured.Unstructured {
	t.Helper()
	var objs []*unstructured.Unstructured
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join("../render/testdata/golden", f))
		if err != nil {
			t.Fatal(err)
		}
		dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
		for {
			obj := &unstructured.Unstructured{}
			if err := dec.Decode(&obj.Object); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatalf("decode %s: %v", f, err)
			}
			objs = append(objs, retarget(obj, ns))
		}
	}
	render.Sort(objs)
	return objs
}

func retarget(obj *unstructured.Unstructured, ns string) *unstructured.Unstructured {
	obj.SetNamespace(ns)
	l := obj.GetLabels()
	l[render.LabelEnvironment] = testEnv
	obj.SetLabels(l)
	return obj
}

func find(t *testing.T, objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	t.Helper()
	for _, o := range objs {
		if o.GetKind() == kind && o.GetName() == name {
			return o
		}
	}
	t.Fatalf("no %s %s", kind, name)
	return nil
}

// without returns objs minus kind/name.
func without(objs []*unstructured.Unstructured, kind, name string) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, o := range objs {
		if o.GetKind() != kind || o.GetName() != name {
			out = append(out, o)
		}
	}
	return out
}

func requireCounts(t *testing.T, cs *ChangeSet, want map[Action]int) {
	t.Helper()
	got := cs.Counts()
	for a, n := range want {
		if got[a] != n {
			t.Errorf("%s: %d, want %d (all: %v; failures: %v)", a, got[a], n, got, cs.Err())
		}
	}
}

// live reads one object as the admin.
func live(t *testing.T, a *Applier, kind, name string, objs []*unstructured.Unstructured) *unstructured.Unstructured {
	t.Helper()
	obj := find(t, objs, kind, name)
	m, err := a.mapper.mapping(obj.GroupVersionKind())
	if err != nil {
		t.Fatal(err)
	}
	dyn := dynamic.NewForConfigOrDie(testcluster.Get(t).Config)
	got, err := dyn.Resource(m.Resource).Namespace(obj.GetNamespace()).Get(t.Context(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// settledVersions returns the resourceVersion of every object once they
// have stopped changing for two seconds (controllers write status after a
// create, and Jobs run to completion).
func settledVersions(t *testing.T, a *Applier, objs []*unstructured.Unstructured) map[string]string {
	t.Helper()
	var last map[string]string
	stable := 0
	err := wait.PollUntilContextTimeout(t.Context(), 500*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
		cur := map[string]string{}
		for _, o := range objs {
			cur[o.GetKind()+"/"+o.GetName()] = live(t, a, o.GetKind(), o.GetName(), objs).GetResourceVersion()
		}
		if equalMaps(cur, last) {
			stable++
		} else {
			stable = 0
		}
		last = cur
		return stable >= 4, nil
	})
	if err != nil {
		t.Fatalf("objects never settled: %v", err)
	}
	return last
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) || a == nil {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
