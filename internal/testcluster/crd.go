package testcluster

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// InstallCRD installs a namespaced, schemaless custom resource definition
// for gvk (plural: the kind in lower case with an s) and waits until the API
// server serves it. It stays for the rest of the package's plane.
func InstallCRD(t *testing.T, gvk schema.GroupVersionKind) {
	t.Helper()
	plural := strings.ToLower(gvk.Kind) + "s"
	installCRDs(t, &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apiextensions.k8s.io/v1",
		"kind":       "CustomResourceDefinition",
		"metadata":   map[string]any{"name": plural + "." + gvk.Group},
		"spec": map[string]any{
			"group": gvk.Group, "scope": "Namespaced",
			"names": map[string]any{"plural": plural, "kind": gvk.Kind},
			"versions": []any{map[string]any{
				"name": gvk.Version, "served": true, "storage": true,
				"schema": map[string]any{"openAPIV3Schema": map[string]any{
					"type": "object", "x-kubernetes-preserve-unknown-fields": true,
				}},
			}},
		},
	}})
}
