package testcluster

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/dynamic"
)

// HelmChartCRD is the CustomResourceDefinition of the HelmChart kind
// (helm.kubedex.com/v1) that type: HelmChart services render, with a
// structural schema of the spec envop writes.
//
//go:embed testdata/helmchart-crd.yaml
var HelmChartCRD []byte

// IstioCRDsEnv names the file of Istio's CustomResourceDefinitions that
// hack/istio/fetch.sh copies from the pinned istio.io/api module. Without
// it the script is asked where its cache is.
const IstioCRDsEnv = "ENVOP_ISTIO_CRDS"

// IstioCRDs returns Istio's CustomResourceDefinitions, as the pinned
// istio.io/api module publishes them. A test that needs them fails, never
// skips, when they are missing.
func IstioCRDs(t testing.TB) []byte {
	t.Helper()
	file := os.Getenv(IstioCRDsEnv)
	if file == "" {
		root, err := repoRoot()
		if err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command("bash", filepath.Join(root, "hack/istio/fetch.sh"), "--print-path").Output()
		if err != nil {
			t.Fatalf("ask hack/istio/fetch.sh where Istio's CRDs are: %v (or set %s)", err, IstioCRDsEnv)
		}
		file = strings.TrimSpace(string(out))
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("Istio's CRDs missing at %s: run `make istio-crds` (make test does it), or set %s to the file: %v",
			file, IstioCRDsEnv, err)
	}
	return data
}

// InstallCRDs creates the CustomResourceDefinitions of a YAML stream and
// waits until the API server serves every version of each. They stay for
// the rest of the package's plane; one that exists already is left alone.
func InstallCRDs(t testing.TB, data []byte) {
	t.Helper()
	crds, err := decodeCRDs(data)
	if err != nil {
		t.Fatal(err)
	}
	installCRDs(t, crds...)
}

// installCRDs creates crds and waits until the API server serves every
// version of each.
func installCRDs(t testing.TB, crds ...*unstructured.Unstructured) {
	t.Helper()
	c := Get(t)
	client := dynamic.NewForConfigOrDie(c.Config).Resource(schema.GroupVersionResource{
		Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"})
	for _, crd := range crds {
		if _, err := client.Create(t.Context(), crd, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatalf("install CRD %s: %v", crd.GetName(), err)
		}
	}
	for _, crd := range crds {
		group, _, _ := unstructured.NestedString(crd.Object, "spec", "group")
		plural, _, _ := unstructured.NestedString(crd.Object, "spec", "names", "plural")
		versions, _, _ := unstructured.NestedSlice(crd.Object, "spec", "versions")
		for _, v := range versions {
			version, _ := v.(map[string]any)["name"].(string)
			if served, _ := v.(map[string]any)["served"].(bool); served {
				waitServed(t, schema.GroupVersion{Group: group, Version: version}, plural)
			}
		}
	}
}

// decodeCRDs reads the CustomResourceDefinitions of a YAML stream; any
// other document is an error.
func decodeCRDs(data []byte) ([]*unstructured.Unstructured, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var out []*unstructured.Unstructured
	for {
		obj := &unstructured.Unstructured{}
		if err := dec.Decode(&obj.Object); errors.Is(err, io.EOF) {
			return out, nil
		} else if err != nil {
			return nil, fmt.Errorf("decode CRDs: %w", err)
		}
		if len(obj.Object) == 0 {
			continue
		}
		if obj.GetKind() != "CustomResourceDefinition" {
			return nil, fmt.Errorf("decode CRDs: %s %s is not a CustomResourceDefinition", obj.GetKind(), obj.GetName())
		}
		out = append(out, obj)
	}
}

// waitServed waits until discovery lists resource in gv.
func waitServed(t testing.TB, gv schema.GroupVersion, resource string) {
	t.Helper()
	c := Get(t)
	err := wait.PollUntilContextTimeout(t.Context(), 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		list, err := c.Client.Discovery().ServerResourcesForGroupVersion(gv.String())
		if err != nil {
			return false, nil
		}
		for _, r := range list.APIResources {
			if r.Name == resource {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("%s of %s never served: %v", resource, gv, err)
	}
}
