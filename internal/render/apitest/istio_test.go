package apitest

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/envop/envop/internal/testcluster"
)

// TestIstioSchemasJudge: the Istio schemas the goldens are judged by do
// judge. The original's Gateway wrote credential_name, a field Istio does
// not know, and lost its TLS; a ServiceEntry without hosts, or with a
// location Istio does not know, is refused too.
func TestIstioSchemasJudge(t *testing.T) {
	testcluster.InstallCRDs(t, testcluster.IstioCRDs(t))
	ensureNamespace(t, "judged")
	for _, tc := range []struct{ name, want, doc string }{
		{"credential_name", "credential_name: field not declared in schema", `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: web, namespace: judged}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 443, name: https, protocol: HTTPS}
    hosts: [web.example.com]
    tls: {mode: SIMPLE, credential_name: web-tls}
`},
		{"no hosts", "spec.hosts: Required value", `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: db, namespace: judged}
spec:
  resolution: DNS
`},
		{"location", `spec.location: Unsupported value: "mesh_external"`, `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: db, namespace: judged}
spec:
  hosts: [db.example.com]
  location: mesh_external
`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			obj := &unstructured.Unstructured{}
			if err := yaml.Unmarshal([]byte(tc.doc), &obj.Object); err != nil {
				t.Fatal(err)
			}
			err := dryRunApply(t.Context(), dynamicClient(t), newMapper(t, []*unstructured.Unstructured{obj}), obj)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want a refusal saying %q, got %v", tc.want, err)
			}
		})
	}
}
