package apitest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/restmapper"

	"github.com/envop/envop/internal/testcluster"
)

func TestMain(m *testing.M) { os.Exit(testcluster.Main(m)) }

// TestGoldenRendersAcceptedByAPIServer server-side-applies, as a dry run,
// every object of every golden render: Kubernetes 1.37 must accept each one.
func TestGoldenRendersAcceptedByAPIServer(t *testing.T) {
	files, err := filepath.Glob("../testdata/golden/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden renders found: %v", err)
	}
	c := testcluster.Get(t)
	dyn, err := dynamic.NewForConfig(c.Config)
	if err != nil {
		t.Fatal(err)
	}
	// The real schemas of the kinds envop renders for other controllers
	// judge the goldens: Istio's CRDs as the pinned istio.io/api publishes
	// them, and the HelmChart's.
	testcluster.InstallCRDs(t, testcluster.IstioCRDs(t))
	testcluster.InstallCRDs(t, testcluster.HelmChartCRD)
	total := 0
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".yaml"), func(t *testing.T) {
			objs := readObjects(t, file)
			mapper := newMapper(t, objs)
			for _, obj := range objs {
				ensureNamespace(t, obj.GetNamespace())
				if err := dryRunApply(t.Context(), dyn, mapper, obj); err != nil {
					t.Errorf("%s %s/%s rejected: %v", obj.GetKind(), obj.GetNamespace(), obj.GetName(), err)
				}
			}
			total += len(objs)
		})
	}
	t.Logf("%d objects from %d golden files accepted", total, len(files))
}

func readObjects(t *testing.T, file string) []*unstructured.Unstructured {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var objs []*unstructured.Unstructured
	for {
		obj := &unstructured.Unstructured{}
		if err := dec.Decode(&obj.Object); err != nil {
			if errors.Is(err, io.EOF) {
				return objs
			}
			t.Fatalf("decode %s: %v", file, err)
		}
		if len(obj.Object) > 0 {
			objs = append(objs, obj)
		}
	}
}

// newMapper maps kinds to resources, installing a CRD that takes any
// fields first for any kind the cluster does not serve (the legacy `type`
// custom resources).
func newMapper(t *testing.T, objs []*unstructured.Unstructured) meta.RESTMapper {
	t.Helper()
	c := testcluster.Get(t)
	dc, err := discovery.NewDiscoveryClientForConfig(c.Config)
	if err != nil {
		t.Fatal(err)
	}
	cached := memory.NewMemCacheClient(dc)
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(cached)
	for _, obj := range objs {
		gvk := obj.GroupVersionKind()
		if _, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version); err == nil {
			continue
		}
		installCRD(t, gvk)
		cached.Invalidate()
		mapper.Reset()
	}
	return mapper
}

func dynamicClient(t *testing.T) dynamic.Interface {
	t.Helper()
	dyn, err := dynamic.NewForConfig(testcluster.Get(t).Config)
	if err != nil {
		t.Fatal(err)
	}
	return dyn
}

func dryRunApply(ctx context.Context, dyn dynamic.Interface, mapper meta.RESTMapper, obj *unstructured.Unstructured) error {
	gvk := obj.GroupVersionKind()
	mapping, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return fmt.Errorf("map %s: %w", gvk, err)
	}
	var ri dynamic.ResourceInterface = dyn.Resource(mapping.Resource)
	if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
		ri = dyn.Resource(mapping.Resource).Namespace(obj.GetNamespace())
	}
	_, err = ri.Apply(ctx, obj.GetName(), obj, metav1.ApplyOptions{
		FieldManager: "envop", Force: true, DryRun: []string{metav1.DryRunAll},
	})
	return err
}

func ensureNamespace(t *testing.T, name string) {
	t.Helper()
	if name == "" {
		return
	}
	c := testcluster.Get(t)
	_, err := c.Client.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("create namespace %s: %v", name, err)
	}
}

// installCRD serves gvk as a namespaced custom resource that accepts any
// fields, as the CRD of a legacy `type` service would.
func installCRD(t *testing.T, gvk schema.GroupVersionKind) {
	t.Helper()
	c := testcluster.Get(t)
	dyn, err := dynamic.NewForConfig(c.Config)
	if err != nil {
		t.Fatal(err)
	}
	plural := strings.ToLower(gvk.Kind) + "s"
	crd := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apiextensions.k8s.io/v1",
		"kind":       "CustomResourceDefinition",
		"metadata":   map[string]any{"name": plural + "." + gvk.Group},
		"spec": map[string]any{
			"group": gvk.Group,
			"scope": "Namespaced",
			"names": map[string]any{"plural": plural, "kind": gvk.Kind},
			"versions": []any{map[string]any{
				"name": gvk.Version, "served": true, "storage": true,
				"schema": map[string]any{"openAPIV3Schema": map[string]any{
					"type": "object", "x-kubernetes-preserve-unknown-fields": true,
				}},
			}},
		},
	}}
	crds := dyn.Resource(schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"})
	if _, err := crds.Create(t.Context(), crd, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("install CRD for %s: %v", gvk, err)
	}
	err = wait.PollUntilContextTimeout(t.Context(), 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		_, err := c.Client.Discovery().ServerResourcesForGroupVersion(gvk.GroupVersion().String())
		return err == nil, nil
	})
	if err != nil {
		t.Fatalf("CRD for %s never served: %v", gvk, err)
	}
}
