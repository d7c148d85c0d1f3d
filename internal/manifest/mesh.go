package manifest

import (
	"math"
	"net"
	"net/url"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/util/validation"
)

// The service_mesh switch and the two `type` services that render the
// custom resources of other controllers (Istio's, a Helm chart
// controller's) from fields of their own, as the original format had them.
// docs/manifest.md describes them.

// Types whose fields envop knows, matched in any case as in the original.
const (
	TypeHelmChart    = "HelmChart"
	TypeServiceEntry = "ServiceEntry"
)

// Values of service_mesh.
const (
	MeshEnable  = "enable"
	MeshDisable = "disable"
)

// ServiceEntry locations and resolutions.
var (
	entryLocations   = []string{"MESH_EXTERNAL", "MESH_INTERNAL"}
	entryResolutions = []string{"NONE", "STATIC", "DNS", "DNS_ROUND_ROBIN"}
)

// HelmChartSpec is what a type: HelmChart service asks the chart's
// controller to install. Its version is the service's version.
type HelmChartSpec struct {
	Chart           string
	Repo            string
	TargetNamespace string
	ValuesContent   string
	Set             map[string]HelmValue
	Ignore          bool
	// Written says the file gave any of these fields.
	Written bool
}

// HelmValue is one value of set: a string, or an integer when IsInt.
type HelmValue struct {
	Str   string
	Int   int64
	IsInt bool
}

// ServiceEntrySpec is what a type: ServiceEntry service adds to the mesh's
// service registry.
type ServiceEntrySpec struct {
	Hosts      []string
	Addresses  []string
	Location   string
	Resolution string
	Ports      []EntryPort
	Endpoints  []Endpoint
	ExportTo   []string
	// Written says the file gave any of these fields.
	Written bool
}

// EntryPort is one of service_entry_ports.
type EntryPort struct {
	Path     string
	Number   int
	Protocol string
	Name     string
}

// Endpoint is one endpoint of a ServiceEntry. Ports maps port names to the
// endpoint's port numbers.
type Endpoint struct {
	Path     string
	Address  string
	Ports    map[string]int
	Labels   map[string]string
	Network  string
	Locality string
	Weight   int64
}

// IsHelmChart reports whether the service is a type: HelmChart service.
func (s *Service) IsHelmChart() bool { return strings.EqualFold(s.Type, TypeHelmChart) }

// IsServiceEntry reports whether the service is a type: ServiceEntry service.
func (s *Service) IsServiceEntry() bool { return strings.EqualFold(s.Type, TypeServiceEntry) }

// HasMeshRoutes reports whether the service renders an Istio Gateway and
// VirtualService: service_mesh: enable on a workload with hosts.
func (s *Service) HasMeshRoutes() bool {
	return s.ServiceMesh == MeshEnable && len(s.ExternalURL) > 0 && !s.IsCustomResource()
}

var entryPortFields = fieldTable[EntryPort]{
	"number":   func(d *decoder, n *yaml.Node, p string, e *EntryPort) { e.Number = d.port(n, p) },
	"protocol": func(d *decoder, n *yaml.Node, p string, e *EntryPort) { e.Protocol = d.str(n, p) },
	"name":     func(d *decoder, n *yaml.Node, p string, e *EntryPort) { e.Name = d.str(n, p) },
}

var endpointFields = fieldTable[Endpoint]{
	"address":  func(d *decoder, n *yaml.Node, p string, e *Endpoint) { e.Address = d.str(n, p) },
	"ports":    func(d *decoder, n *yaml.Node, p string, e *Endpoint) { e.Ports = d.portMap(n, p) },
	"labels":   func(d *decoder, n *yaml.Node, p string, e *Endpoint) { e.Labels = d.strMap(n, p) },
	"network":  func(d *decoder, n *yaml.Node, p string, e *Endpoint) { e.Network = d.str(n, p) },
	"locality": func(d *decoder, n *yaml.Node, p string, e *Endpoint) { e.Locality = d.str(n, p) },
	"weight": func(d *decoder, n *yaml.Node, p string, e *Endpoint) {
		e.Weight, _ = d.integer(n, p, 0, math.MaxUint32)
	},
}

func decodeEntryPorts(d *decoder, n *yaml.Node, p string) []EntryPort {
	var out []EntryPort
	d.list(n, p, func(item *yaml.Node, ip string) {
		e := EntryPort{Path: ip}
		decodeStruct(d, item, ip, &e, entryPortFields)
		out = append(out, e)
	})
	return out
}

func decodeEndpoints(d *decoder, n *yaml.Node, p string) []Endpoint {
	var out []Endpoint
	d.list(n, p, func(item *yaml.Node, ip string) {
		e := Endpoint{Path: ip}
		decodeStruct(d, item, ip, &e, endpointFields)
		out = append(out, e)
	})
	return out
}

// portMap reads a mapping of port names to port numbers; the range is
// checked by validation.
func (d *decoder) portMap(n *yaml.Node, p string) map[string]int {
	out := map[string]int{}
	for _, pr := range d.pairs(n, p) {
		kp := keyPath(p, pr.key)
		d.record(kp, pr.value)
		out[pr.key] = d.port(pr.value, kp)
	}
	return out
}

// helmValues reads set: strings stay strings and integers integers, as the
// chart controller tells them apart; anything else is an error.
func (d *decoder) helmValues(n *yaml.Node, p string) map[string]HelmValue {
	out := map[string]HelmValue{}
	for _, pr := range d.pairs(n, p) {
		kp := keyPath(p, pr.key)
		d.record(kp, pr.value)
		r := d.resolve(pr.value)
		switch {
		case r == nil:
		case r.Kind == yaml.ScalarNode && r.Tag == "!!int":
			if v, ok := d.integer(r, kp, math.MinInt32, math.MaxInt32); ok {
				out[pr.key] = HelmValue{Int: v, IsInt: true}
			}
		case r.Kind == yaml.ScalarNode && r.Tag == "!!str":
			out[pr.key] = HelmValue{Str: r.Value}
		default:
			d.errorf(r, kp, "expected a string or an integer, got %s (quote it to pass it as a string)", describe(r))
		}
	}
	return out
}

var (
	helmOnlyFields  = []string{"chart", "repo", "target_namespace", "values_content", "set", "ignore"}
	entryOnlyFields = []string{"hosts", "addresses", "location", "resolution", "service_entry_ports", "endpoints", "export_to"}
)

// typedResources checks service_mesh and the fields of HelmChart and
// ServiceEntry services, each of which applies to its type only.
func (v *checker) typedResources(s *Service) {
	mp := joinPath(s.Path, "service_mesh")
	v.oneOf(mp, s.ServiceMesh, MeshEnable, MeshDisable)
	if s.ServiceMesh != "" && s.IsCustomResource() {
		v.errorf(mp, "does not apply to type (a custom resource): it routes the external_url of a workload")
	}
	v.onlyFor(s, s.IsHelmChart() || !s.Helm.Written, TypeHelmChart, helmOnlyFields)
	v.onlyFor(s, s.IsServiceEntry() || !s.Entry.Written, TypeServiceEntry, entryOnlyFields)
	if (s.IsHelmChart() || s.IsServiceEntry()) && s.Options != nil {
		v.errorf(joinPath(s.Path, "options"), "does not apply to type %s: write its fields on the service itself (docs/manifest.md)", s.Type)
	}
	switch {
	case s.IsHelmChart():
		v.helmChart(s)
	case s.IsServiceEntry():
		v.serviceEntry(s)
	}
}

// onlyFor reports each of fields the file wrote on a service that is not
// of the type they belong to; skip says there is nothing to report (the
// service is of that type, or wrote none of them).
func (v *checker) onlyFor(s *Service, skip bool, typ string, fields []string) {
	if skip {
		return
	}
	for _, f := range fields {
		if fp := joinPath(s.Path, f); v.f.positions.has(fp) {
			v.errorf(fp, "only applies with type: %s", typ)
		}
	}
}

func (v *checker) helmChart(s *Service) {
	h := &s.Helm
	v.required(joinPath(s.Path, "chart"), h.Chart)
	v.dnsLabel(joinPath(s.Path, "target_namespace"), h.TargetNamespace)
	if rp := joinPath(s.Path, "repo"); h.Repo != "" {
		if u, err := url.Parse(h.Repo); err != nil || u.Scheme == "" || u.Host == "" {
			v.errorf(rp, "must be the URL of a chart repository (https://charts.example.com), got %q", h.Repo)
		}
	}
	for _, k := range sortedKeys(h.Set) {
		if strings.TrimSpace(k) == "" {
			v.errorf(joinPath(s.Path, "set"), "a key must name a chart value")
		}
	}
}

func (v *checker) serviceEntry(s *Service) {
	x := &s.Entry
	hp := joinPath(s.Path, "hosts")
	if len(x.Hosts) == 0 {
		v.errorf(hp, "required: the hosts the entry adds to the mesh")
	}
	v.hosts(hp, x.Hosts)
	v.oneOf(joinPath(s.Path, "location"), x.Location, entryLocations...)
	v.oneOf(joinPath(s.Path, "resolution"), x.Resolution, entryResolutions...)
	v.entryAddresses(s)
	v.entryPorts(s)
	v.endpoints(s)
	ep := joinPath(s.Path, "export_to")
	for i, ns := range x.ExportTo {
		if ns != "." && ns != "*" && ns != "~" {
			v.invalid(v.item(ep, i), ns, validation.IsDNS1123Label(ns))
		}
	}
}

// item is the path of item i of the list at p, or p when the file wrote no
// position for it.
func (v *checker) item(p string, i int) string {
	if ip := itemPath(p, i); v.f.positions.has(ip) {
		return ip
	}
	return p
}

// resolution is the ServiceEntry's resolution, NONE when unset (Istio's
// default).
func (x *ServiceEntrySpec) resolution() string {
	if x.Resolution == "" {
		return "NONE"
	}
	return x.Resolution
}

func (v *checker) entryAddresses(s *Service) {
	x := &s.Entry
	ap := joinPath(s.Path, "addresses")
	for i, a := range x.Addresses {
		_, _, cidrErr := net.ParseCIDR(a)
		switch {
		case cidrErr == nil && x.resolution() != "NONE" && x.resolution() != "STATIC":
			v.errorf(v.item(ap, i), "CIDR %q needs resolution NONE or STATIC, not %s", a, x.resolution())
		case cidrErr != nil && net.ParseIP(a) == nil:
			v.errorf(v.item(ap, i), "must be an IP address or a CIDR block, got %q", a)
		}
	}
}

func (v *checker) entryPorts(s *Service) {
	names, numbers := map[string]string{}, map[int]bool{}
	for _, p := range s.Entry.Ports {
		np := joinPath(p.Path, "number")
		if !v.f.positions.has(np) {
			v.errorf(np, "required")
		} else if validation.IsValidPortNum(p.Number) != nil {
			v.errorf(np, "port %d out of range 1-65535", p.Number)
		} else if numbers[p.Number] {
			v.errorf(np, "duplicate port %d", p.Number)
		}
		numbers[p.Number] = true
		if v.required(joinPath(p.Path, "name"), p.Name) {
			v.unique(names, p.Name, joinPath(p.Path, "name"), "port")
		}
	}
}

// endpointPortName is the form Istio accepts for the names of an
// endpoint's ports.
var endpointPortName = regexp.MustCompile(`^[a-zA-Z0-9](?:[-a-zA-Z0-9]*[a-zA-Z0-9])?$`)

func (v *checker) endpoints(s *Service) {
	x := &s.Entry
	ep := joinPath(s.Path, "endpoints")
	switch res := x.resolution(); {
	case len(x.Endpoints) > 0 && res == "NONE":
		v.errorf(ep, "resolution NONE (the default) takes no endpoints: set resolution STATIC or DNS")
	case len(x.Endpoints) > 1 && res == "DNS_ROUND_ROBIN":
		v.errorf(ep, "resolution DNS_ROUND_ROBIN takes one endpoint at most, got %d", len(x.Endpoints))
	}
	for _, e := range x.Endpoints {
		if e.Address == "" && e.Network == "" {
			v.errorf(joinPath(e.Path, "address"), "required (or network)")
		}
		if e.Address != "" && x.resolution() == "STATIC" && net.ParseIP(e.Address) == nil && !strings.HasPrefix(e.Address, "unix://") {
			v.errorf(joinPath(e.Path, "address"), "resolution STATIC needs an IP address (or unix:// socket), got %q", e.Address)
		}
		pp := joinPath(e.Path, "ports")
		for _, name := range sortedKeys(e.Ports) {
			kp := keyPath(pp, name)
			if len(name) >= 63 || !endpointPortName.MatchString(name) {
				v.errorf(kp, "port name %q: letters, digits and '-', starting and ending with a letter or digit, under 63 characters", name)
			}
			if port := e.Ports[name]; validation.IsValidPortNum(port) != nil {
				v.errorf(kp, "port %d out of range 1-65535", port)
			}
		}
		v.labels(joinPath(e.Path, "labels"), e.Labels)
	}
}

// lintTyped warns about what a file asks of the mesh and of HelmCharts that
// envop does not do, or cannot confine.
func (v *checker) lintTyped(e *Environment, s *Service) {
	if s.ServiceMesh == MeshEnable && len(s.ExternalURL) == 0 && !s.IsCustomResource() {
		v.warnf(joinPath(s.Path, "service_mesh"), "renders nothing without external_url: the mesh routes the hosts of external_url")
	}
	if s.IsHelmChart() && s.Helm.TargetNamespace != "" && s.Helm.TargetNamespace != e.Namespace {
		v.warnf(joinPath(s.Path, "target_namespace"), "names another namespace: the HelmChart stays in the environment's namespace, and the chart's controller, with its own rights, installs the chart into %q; envop does not confine what the chart does there (docs/security.md)",
			s.Helm.TargetNamespace)
	}
}
