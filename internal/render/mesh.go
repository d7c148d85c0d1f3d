package render

import (
	"maps"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/envop/envop/internal/manifest"
)

// The kinds of other projects' controllers envop renders from fields of its
// own (docs/manifest.md): Istio's, for service_mesh and type: ServiceEntry,
// and the HelmChart of a Helm chart controller.
var (
	GatewayKind        = schema.GroupVersionKind{Group: "networking.istio.io", Version: "v1", Kind: "Gateway"}
	VirtualServiceKind = schema.GroupVersionKind{Group: "networking.istio.io", Version: "v1", Kind: "VirtualService"}
	ServiceEntryKind   = schema.GroupVersionKind{Group: "networking.istio.io", Version: "v1", Kind: "ServiceEntry"}
	HelmChartKind      = schema.GroupVersionKind{Group: "helm.kubedex.com", Version: "v1", Kind: "HelmChart"}
)

// KnownCustomKinds are the custom resource kinds envop renders whose rights
// `envop install` grants (--istio, --helm-charts), watch included: the
// applier watches them for drift once it applies one. Legacy `type` kinds
// are not among them.
func KnownCustomKinds() []schema.GroupKind {
	return []schema.GroupKind{GatewayKind.GroupKind(), VirtualServiceKind.GroupKind(),
		ServiceEntryKind.GroupKind(), HelmChartKind.GroupKind()}
}

// ingressGatewaySelector selects Istio's default ingress gateway.
var ingressGatewaySelector = map[string]any{"istio": "ingressgateway"}

// meshRoutes renders, for service_mesh: enable, an Istio Gateway for the
// service's hosts on the ingress gateway and a VirtualService routing them
// to the Service the Ingress routes to: backend, else the service's own
// (for blue/green, the parent Service, which selects the active colour).
// labels are the parent Ingress's. The Ingress is still rendered.
func (r *renderer) meshRoutes(s *manifest.Service, labels map[string]string) {
	if !s.HasMeshRoutes() {
		return
	}
	servers := []any{map[string]any{"port": gatewayPort(80, "http", "HTTP"), "hosts": anyList(s.ExternalURL)}}
	if s.HasTLS() {
		if s.HTTPSOnly != nil && *s.HTTPSOnly {
			servers[0].(map[string]any)["tls"] = map[string]any{"httpsRedirect": true}
		}
		// The Secret the Ingress names, which cert-manager, Vault or the
		// user fill: one certificate whichever way traffic comes in.
		servers = append(servers, map[string]any{
			"port":  gatewayPort(443, "https", "HTTPS"),
			"hosts": anyList(s.ExternalURL),
			"tls":   map[string]any{"mode": "SIMPLE", "credentialName": s.TLSSecretName(s.Name)},
		})
	}
	r.addCustom(GatewayKind, s.Name, labels, map[string]any{
		"selector": maps.Clone(ingressGatewaySelector),
		"servers":  servers,
	})
	host := s.Name
	if s.Backend != "" {
		host = s.Backend
	}
	r.addCustom(VirtualServiceKind, s.Name, labels, map[string]any{
		"gateways": []any{s.Name},
		"hosts":    anyList(s.ExternalURL),
		"http": []any{map[string]any{
			"match": []any{map[string]any{"uri": map[string]any{"prefix": "/"}}},
			"route": []any{map[string]any{"destination": map[string]any{
				"host": host,
				"port": map[string]any{"number": int64(backendPort(s))},
			}}},
		}},
	})
}

func gatewayPort(number int64, name, protocol string) map[string]any {
	return map[string]any{"number": number, "name": name, "protocol": protocol}
}

// addCustom adds an object of a custom resource kind.
func (r *renderer) addCustom(gvk schema.GroupVersionKind, name string, labels map[string]string, spec map[string]any) {
	u := &unstructured.Unstructured{Object: map[string]any{}}
	u.SetGroupVersionKind(gvk)
	u.SetName(name)
	u.SetNamespace(r.namespace)
	u.SetLabels(maps.Clone(labels))
	u.Object["spec"] = spec
	r.objs = append(r.objs, newObject(u))
}

// helmChartSpec is the spec of a type: HelmChart service's HelmChart; its
// version is the service's, so a deploy changes the chart's version.
func helmChartSpec(s *manifest.Service, version string) map[string]any {
	h := &s.Helm
	spec := map[string]any{"chart": h.Chart}
	for key, value := range map[string]string{"repo": h.Repo, "targetNamespace": h.TargetNamespace,
		"valuesContent": h.ValuesContent, "version": version} {
		if value != "" {
			spec[key] = value
		}
	}
	if len(h.Set) > 0 {
		set := make(map[string]any, len(h.Set))
		for k, v := range h.Set {
			if v.IsInt {
				set[k] = v.Int
			} else {
				set[k] = v.Str
			}
		}
		spec["set"] = set
	}
	if h.Ignore {
		spec["ignore"] = true
	}
	return spec
}

// serviceEntrySpec is the spec of a type: ServiceEntry service's
// ServiceEntry, its fields in Istio's names.
func serviceEntrySpec(s *manifest.Service) map[string]any {
	x := &s.Entry
	spec := map[string]any{"hosts": anyList(x.Hosts)}
	if len(x.Addresses) > 0 {
		spec["addresses"] = anyList(x.Addresses)
	}
	if len(x.ExportTo) > 0 {
		spec["exportTo"] = anyList(x.ExportTo)
	}
	if x.Location != "" {
		spec["location"] = x.Location
	}
	if x.Resolution != "" {
		spec["resolution"] = x.Resolution
	}
	if len(x.Ports) > 0 {
		ports := make([]any, 0, len(x.Ports))
		for _, p := range x.Ports {
			port := map[string]any{"number": int64(p.Number), "name": p.Name}
			if p.Protocol != "" {
				port["protocol"] = p.Protocol
			}
			ports = append(ports, port)
		}
		spec["ports"] = ports
	}
	if len(x.Endpoints) > 0 {
		endpoints := make([]any, 0, len(x.Endpoints))
		for _, e := range x.Endpoints {
			endpoints = append(endpoints, endpointSpec(e))
		}
		spec["endpoints"] = endpoints
	}
	return spec
}

func endpointSpec(e manifest.Endpoint) map[string]any {
	out := map[string]any{}
	for key, value := range map[string]string{"address": e.Address, "network": e.Network, "locality": e.Locality} {
		if value != "" {
			out[key] = value
		}
	}
	if len(e.Ports) > 0 {
		ports := make(map[string]any, len(e.Ports))
		for name, p := range e.Ports {
			ports[name] = int64(p)
		}
		out["ports"] = ports
	}
	if len(e.Labels) > 0 {
		labels := make(map[string]any, len(e.Labels))
		for k, v := range e.Labels {
			labels[k] = v
		}
		out["labels"] = labels
	}
	if e.Weight > 0 {
		out["weight"] = e.Weight
	}
	return out
}

// anyList copies strings into the []any an unstructured object holds.
func anyList(in []string) []any {
	out := make([]any, len(in))
	for i, s := range in {
		out[i] = s
	}
	return out
}
