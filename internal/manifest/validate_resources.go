package manifest

import (
	"slices"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/api/validate/content"
	"k8s.io/apimachinery/pkg/util/validation"
)

// IsExtendedResource reports whether a resource name is an extended resource
// (a device such as nvidia.com/gpu): outside kubernetes.io, not hugepages.
// Those cannot be overcommitted, so requests must equal limits.
func IsExtendedResource(name string) bool {
	return strings.Contains(name, "/") && !strings.Contains(name, "kubernetes.io/")
}

var standardResources = map[string]bool{"cpu": true, "memory": true, "ephemeral-storage": true}

func (v *checker) resources(s *Service) {
	for _, field := range []string{"requests", "limits"} {
		m := s.Requests
		if field == "limits" {
			m = s.Limits
		}
		for _, name := range sortedKeys(m) {
			v.resource(keyPath(joinPath(s.Path, field), name), name, m[name])
		}
	}
	v.requestsWithinLimits(s)
	v.extendedResources(s)
}

func (v *checker) resource(p, name, value string) {
	switch {
	case standardResources[name] || strings.HasPrefix(name, "hugepages-"):
	case IsExtendedResource(name):
		if msgs := content.IsLabelKey(name); len(msgs) > 0 {
			v.errorf(p, "invalid resource name %q: %s", name, strings.Join(msgs, "; "))
			return
		}
	default:
		v.errorf(p, "unknown resource %q (want cpu, memory, ephemeral-storage, hugepages-<size> or a DOMAIN/NAME extended resource)", name)
		return
	}
	q, ok := v.quantity(p, value, false)
	if ok && IsExtendedResource(name) && q.MilliValue()%1000 != 0 {
		v.errorf(p, "extended resource %s must be a whole number, got %s", name, value)
	}
}

// quantity parses a Kubernetes quantity; positive demands more than zero.
func (v *checker) quantity(p, value string, positive bool) (resource.Quantity, bool) {
	q, err := resource.ParseQuantity(value)
	// ParseQuantity takes a bare suffix such as "M" as zero; the original
	// crashed on those, so demand a number.
	if err != nil || strings.IndexAny(value, "0123456789") < 0 {
		v.errorf(p, "invalid quantity %q (e.g. 500m, 2, 512Mi, 10Gi)", value)
		return q, false
	}
	if q.Sign() < 0 || (positive && q.Sign() == 0) {
		v.errorf(p, "must be positive, got %s", value)
		return q, false
	}
	return q, true
}

func (v *checker) requestsWithinLimits(s *Service) {
	for _, name := range sortedKeys(s.Requests) {
		lim, ok := s.Limits[name]
		if !ok || IsExtendedResource(name) {
			continue
		}
		rq, err1 := resource.ParseQuantity(s.Requests[name])
		lq, err2 := resource.ParseQuantity(lim)
		if err1 == nil && err2 == nil && rq.Cmp(lq) > 0 {
			v.errorf(keyPath(joinPath(s.Path, "requests"), name), "request %s is above the limit %s", s.Requests[name], lim)
		}
	}
}

// extendedResources enforces request == limit for devices; a missing side
// is filled from the other when rendering.
func (v *checker) extendedResources(s *Service) {
	for _, name := range sortedKeys(s.Requests) {
		lim, ok := s.Limits[name]
		if !ok || !IsExtendedResource(name) {
			continue
		}
		rq, err1 := resource.ParseQuantity(s.Requests[name])
		lq, err2 := resource.ParseQuantity(lim)
		if err1 == nil && err2 == nil && rq.Cmp(lq) != 0 {
			v.errorf(keyPath(joinPath(s.Path, "requests"), name), "extended resource %s cannot be overcommitted: request %s must equal limit %s", name, s.Requests[name], lim)
		}
	}
}

func (v *checker) hpa(s *Service) {
	h := s.HPA
	if h == nil {
		return
	}
	switch s.WorkloadKind() {
	case KindJob, KindCronJob:
		v.errorf(h.Path, "autoscaling does not apply to kind %s", s.WorkloadKind())
	}
	minPath, maxPath := joinPath(h.Path, "min_replicas"), joinPath(h.Path, "max_replicas")
	if h.MinReplicas < 1 && v.f.positions.has(minPath) {
		v.errorf(minPath, "must be at least 1 (or 0 for no autoscaler), got %d", h.MinReplicas)
	}
	switch {
	case !v.f.positions.has(maxPath):
		v.errorf(h.Path, "max_replicas is required")
	case h.MaxReplicas < 1:
		v.errorf(maxPath, "must be at least 1, got %d", h.MaxReplicas)
	case h.MaxReplicas < h.Min():
		v.errorf(maxPath, "must be at least min_replicas (%d), got %d", h.Min(), h.MaxReplicas)
	}
	if h.Metric != nil {
		v.metric(h.Metric)
	}
}

// ResourceMetric reports whether an HPA metric name is a container resource
// (utilization of requests) rather than a per-pod custom metric.
func ResourceMetric(name string) bool { return name == "" || name == "cpu" || name == "memory" }

func (v *checker) metric(m *Metric) {
	up := m.UtilizationPath
	vp := joinPath(m.Path, "target_average_value")
	hasUtil, hasValue := m.TargetAverageUtilization != 0, m.TargetAverageValue != ""
	if v.f.positions.has(up) && m.TargetAverageUtilization <= 0 {
		v.errorf(up, "must be positive, got %d", m.TargetAverageUtilization)
	}
	switch {
	case hasUtil && hasValue:
		v.errorf(vp, "target_average_utilization and target_average_value are mutually exclusive")
	case !hasUtil && !hasValue:
		if !v.f.positions.has(up) {
			v.errorf(m.Path, "one of target_average_utilization or target_average_value is required")
		}
	case hasUtil && !ResourceMetric(m.Name):
		v.errorf(up, "utilization only applies to cpu and memory; use target_average_value for %q", m.Name)
	}
	if hasValue {
		v.quantity(vp, m.TargetAverageValue, true)
	}
	if m.Name != "" && !ResourceMetric(m.Name) {
		v.msgs(joinPath(m.Path, "name"), content.IsLabelKey(m.Name))
	}
}

func (v *checker) ingress(e *Environment, s *Service) {
	up := joinPath(s.Path, "external_url")
	v.hosts(up, s.ExternalURL)
	if len(s.ExternalURL) > 0 {
		ports := s.ServicePorts()
		switch kind := s.WorkloadKind(); {
		case s.IsCustomResource():
			v.errorf(up, "does not apply to type (a legacy custom resource)")
		case kind == KindJob || kind == KindCronJob:
			v.errorf(up, "does not apply to kind %s: it serves no traffic", kind)
		case s.Backend != "":
		case len(ports) == 0 && s.BackendPort == 0:
			v.errorf(up, "an ingress needs a port: set port, or backend and backend_port")
		case s.BackendPort != 0 && !slices.Contains(ports, s.BackendPort):
			v.errorf(joinPath(s.Path, "backend_port"), "port %d is not a port of the service (%s); without backend the Ingress routes to the service itself", s.BackendPort, portList(ports))
		}
	}
	if s.Backend != "" && v.invalid(joinPath(s.Path, "backend"), s.Backend, validation.IsDNS1123Label(s.Backend)) {
		v.backend(e, s)
	}
	if s.BackendPort != 0 && (s.BackendPort < 1 || s.BackendPort > 65535) {
		v.errorf(joinPath(s.Path, "backend_port"), "port %d out of range 1-65535", s.BackendPort)
	}
	v.dnsSubdomain(joinPath(s.Path, "tls_secret"), s.TLSSecret)
	v.dnsSubdomain(joinPath(s.Path, "ingress_class"), s.IngressClass)
	if t := s.TLS; t != nil {
		set := 0
		for _, x := range []string{t.ClusterIssuer, t.Issuer, t.Vault} {
			if x != "" {
				set++
			}
		}
		if set != 1 {
			v.errorf(t.Path, "exactly one of cluster_issuer, issuer and vault is required")
		}
	}
}

func portList(ports []int) string {
	if len(ports) == 0 {
		return "it has none"
	}
	out := make([]string, len(ports))
	for i, p := range ports {
		out[i] = strconv.Itoa(p)
	}
	return strings.Join(out, ", ")
}
