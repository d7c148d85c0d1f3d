package e2e

import (
	"fmt"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/envop/envop/internal/install"
	"github.com/envop/envop/internal/operator"
	"github.com/envop/envop/internal/render"
	"github.com/envop/envop/internal/testcluster"
)

// withMeshKinds adds to basic a mesh service, a HelmChart and a
// ServiceEntry (no "NS" in it but the namespace: commit replaces it).
const withMeshKinds = basic + `      - name: admin
        version: "1.0.3"
        port: 80
        external_url: admin.shop.example.com
        service_mesh: enable
        ssl: true
      - name: redis
        type: HelmChart
        chart: redis
        repo: https://charts.example.com/stable
        version: 17.3.2
        values_content: |
          architecture: standalone
        set:
          replica.replicaCount: 2
          image.tag: "7.0"
      - name: payments
        type: ServiceEntry
        hosts: [api.payments.example.com]
        location: MESH_EXTERNAL
        resolution: STATIC
        endpoints:
          - {address: 192.0.2.10, ports: {tls: 8443}}
        service_entry_ports:
          - {number: 443, protocol: TLS, name: tls}
        export_to: ["."]
`

// TestMeshHelmChartAndServiceEntry: on a plane serving Istio's own CRDs
// (whose structural schemas judge every field) and the HelmChart CRD, an
// operator holding the rights `envop install --istio --helm-charts`
// grants syncs a mesh service with TLS, a HelmChart and a ServiceEntry:
// the objects hold what docs/manifest.md says, their services show the
// status docs/operator.md gives custom resources, a Gateway deleted by
// hand comes back, and a file without them prunes them, even across a
// restart. Serial: it installs CustomResourceDefinitions.
func TestMeshHelmChartAndServiceEntry(t *testing.T) {
	testcluster.InstallCRDs(t, testcluster.IstioCRDs(t))
	testcluster.InstallCRDs(t, testcluster.HelmChartCRD)
	ns := testcluster.Namespace(t)
	rules := install.Options{Rules: operator.RequiredRules(),
		Istio: true, IstioRules: operator.IstioRules(), HelmCharts: true, HelmChartRules: operator.HelmChartRules()}.RoleRules()
	cfg, _ := testcluster.ServiceAccountClient(t, ns, "envop", rules)
	e := newEnvConfig(t, ns, cfg, withMeshKinds, nil)

	objects := meshObjects(t, ns)
	e.eventually(60*time.Second, "the mesh, chart and entry objects applied", func() (bool, string) {
		for name, get := range objects {
			if _, err := get(); err != nil {
				return false, name + ": " + err.Error()
			}
		}
		return true, ""
	})
	checkMeshSpecs(t, objects)
	if _, err := testcluster.Get(t).Client.NetworkingV1().Ingresses(ns).Get(t.Context(), "admin", metav1.GetOptions{}); err != nil {
		t.Errorf("the mesh service's Ingress: %v", err)
	}

	e.eventually(60*time.Second, "the services' statuses", func() (bool, string) {
		admin, redis, payments := e.service("admin"), e.service("redis"), e.service("payments")
		got := fmt.Sprintf("admin %s %s, redis %s %s %s, payments %s %s", admin.Status, admin.Version,
			redis.Status, redis.Reason, redis.Version, payments.Status, payments.Reason)
		return got == "admin green 1.0.3, redis orange Pending 17.3.2, payments orange NoVersion", got
	})

	gateways := resource(t, ns, render.GatewayKind, "gateways")
	if err := gateways.Delete(t.Context(), "admin", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	e.eventually(10*time.Second, "the Gateway deleted by hand applied again", func() (bool, string) {
		_, err := gateways.Get(t.Context(), "admin", metav1.GetOptions{})
		return err == nil, fmt.Sprint(err)
	})

	e.stop()
	e.commit(basic)
	e.start()
	e.eventually(30*time.Second, "the dropped objects pruned", func() (bool, string) {
		for name, get := range objects {
			if _, err := get(); !apierrors.IsNotFound(err) {
				return false, fmt.Sprintf("%s: %v", name, err)
			}
		}
		return true, ""
	})
}

// meshObjects reads, as the admin, each object the file renders beyond
// the workloads.
func meshObjects(t *testing.T, ns string) map[string]func() (*unstructured.Unstructured, error) {
	t.Helper()
	out := map[string]func() (*unstructured.Unstructured, error){}
	for _, o := range []struct {
		gvk      schema.GroupVersionKind
		resource string
		name     string
	}{
		{render.GatewayKind, "gateways", "admin"},
		{render.VirtualServiceKind, "virtualservices", "admin"},
		{render.HelmChartKind, "helmcharts", "redis"},
		{render.ServiceEntryKind, "serviceentries", "payments"},
	} {
		ri := resource(t, ns, o.gvk, o.resource)
		out[o.gvk.Kind] = func() (*unstructured.Unstructured, error) {
			return ri.Get(t.Context(), o.name, metav1.GetOptions{})
		}
	}
	return out
}

func resource(t *testing.T, ns string, gvk schema.GroupVersionKind, plural string) dynamic.ResourceInterface {
	t.Helper()
	return dynamic.NewForConfigOrDie(testcluster.Get(t).Config).Resource(gvk.GroupVersion().WithResource(plural)).Namespace(ns)
}

// checkMeshSpecs compares the fields docs/manifest.md promises with the
// live objects, as the API server stored them.
func checkMeshSpecs(t *testing.T, objects map[string]func() (*unstructured.Unstructured, error)) {
	t.Helper()
	get := func(kind string) map[string]any {
		obj, err := objects[kind]()
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		return obj.Object
	}
	for _, c := range []struct {
		kind string
		path []string
		want any
	}{
		{"Gateway", []string{"spec", "selector", "istio"}, "ingressgateway"},
		{"VirtualService", []string{"spec", "gateways"}, []any{"admin"}},
		{"VirtualService", []string{"spec", "hosts"}, []any{"admin.shop.example.com"}},
		{"HelmChart", []string{"spec", "chart"}, "redis"},
		{"HelmChart", []string{"spec", "repo"}, "https://charts.example.com/stable"},
		{"HelmChart", []string{"spec", "version"}, "17.3.2"},
		{"HelmChart", []string{"spec", "valuesContent"}, "architecture: standalone\n"},
		{"HelmChart", []string{"spec", "set", "replica.replicaCount"}, int64(2)},
		{"HelmChart", []string{"spec", "set", "image.tag"}, "7.0"},
		{"ServiceEntry", []string{"spec", "hosts"}, []any{"api.payments.example.com"}},
		{"ServiceEntry", []string{"spec", "location"}, "MESH_EXTERNAL"},
		{"ServiceEntry", []string{"spec", "resolution"}, "STATIC"},
		{"ServiceEntry", []string{"spec", "endpoints"}, []any{map[string]any{"address": "192.0.2.10", "ports": map[string]any{"tls": int64(8443)}}}},
		{"ServiceEntry", []string{"spec", "exportTo"}, []any{"."}},
		{"ServiceEntry", []string{"spec", "ports"}, []any{map[string]any{"number": int64(443), "protocol": "TLS", "name": "tls"}}},
	} {
		got, _, err := unstructured.NestedFieldNoCopy(get(c.kind), c.path...)
		if err != nil || fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("%s %v = %v, want %v (%v)", c.kind, c.path, got, c.want, err)
		}
	}
	servers, _, _ := unstructured.NestedSlice(get("Gateway"), "spec", "servers")
	want := "[map[hosts:[admin.shop.example.com] port:map[name:http number:80 protocol:HTTP]] " +
		"map[hosts:[admin.shop.example.com] port:map[name:https number:443 protocol:HTTPS] tls:map[credentialName:admin-tls mode:SIMPLE]]]"
	if fmt.Sprint(servers) != want {
		t.Errorf("Gateway servers:\n%v\nwant\n%s", servers, want)
	}
	route, _, _ := unstructured.NestedSlice(get("VirtualService"), "spec", "http")
	if want := "[map[match:[map[uri:map[prefix:/]]] route:[map[destination:map[host:admin port:map[number:80]]]]]]"; fmt.Sprint(route) != want {
		t.Errorf("VirtualService http:\n%v\nwant\n%s", route, want)
	}
}
