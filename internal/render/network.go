package render

import (
	"maps"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/envop/envop/internal/manifest"
)

// Annotations cert-manager reads on an Ingress.
const (
	certManagerClusterIssuer = "cert-manager.io/cluster-issuer"
	certManagerIssuer        = "cert-manager.io/issuer"
)

// blueGreen renders both colours, each with its own Service and preview
// Ingress, and the parent Service and Ingress pointing at the active one.
func (r *renderer) blueGreen(s *manifest.Service) error {
	versions := map[string]string{}
	for _, colour := range []string{manifest.ColourBlue, manifest.ColourGreen} {
		name := s.Name + "-" + colour
		versions[colour] = r.version(s, name)
		if err := r.workload(s, name, versions[colour]); err != nil {
			return err
		}
		r.networking(s, name, versions[colour], s.PreviewHosts(colour), name)
	}
	active := s.ActiveColour(r.env)
	if a := r.opts.Active[s.Name]; a == manifest.ColourBlue || a == manifest.ColourGreen {
		active = a
	}
	r.networking(s, s.Name+"-"+active, versions[active], s.ExternalURL, s.Name)
	r.meshRoutes(s, r.labels(s.Name, s.Name+"-"+active, versions[active]))
	return nil
}

// networking renders the Service called name selecting the pods of
// instance, the StatefulSet's headless Service, and an Ingress for hosts.
// They render even when the workload waits for its first deploy, so the DNS
// name and the URL exist from the start.
func (r *renderer) networking(s *manifest.Service, instance, version string, hosts []string, name string) {
	ports := s.ServicePorts()
	labels := r.labels(s.Name, instance, version)
	sel := r.selector(s.Name, instance)
	ann := r.originalAnnotations(s, instance, name)
	if len(ports) > 0 {
		r.addService(name, labels, ann, sel, servicePorts(s, ports), "")
	}
	if s.WorkloadKind() == manifest.KindStatefulSet {
		r.addService(headlessName(s.Name), labels, ann, sel, servicePorts(s, ports), corev1.ClusterIPNone)
	}
	if len(hosts) > 0 {
		r.ingress(s, name, labels, hosts)
	}
}

func headlessName(name string) string { return name + "-headless" }

func servicePorts(s *manifest.Service, ports []int) []corev1.ServicePort {
	var out []corev1.ServicePort
	for _, p := range ports {
		out = append(out, corev1.ServicePort{Name: portName(s, p), Port: int32(p),
			TargetPort: intstr.FromInt32(int32(p)), Protocol: corev1.ProtocolTCP})
	}
	return out
}

func (r *renderer) addService(name string, labels, annotations, sel map[string]string, ports []corev1.ServicePort, clusterIP string) {
	svc := &corev1.Service{
		TypeMeta:   typeMeta("v1", "Service"),
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: r.namespace, Labels: labels, Annotations: annotations},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, Selector: sel, Ports: ports,
			ClusterIP: clusterIP, PublishNotReadyAddresses: clusterIP == corev1.ClusterIPNone},
	}
	_ = r.add(svc)
}

func (r *renderer) ingress(s *manifest.Service, name string, labels map[string]string, hosts []string) {
	backend := networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
		Name: name, Port: networkingv1.ServiceBackendPort{Number: int32(backendPort(s))}}}
	if s.Backend != "" && name == s.Name {
		backend.Service.Name = s.Backend
	}
	prefix := networkingv1.PathTypePrefix
	spec := networkingv1.IngressSpec{}
	for _, h := range hosts {
		spec.Rules = append(spec.Rules, networkingv1.IngressRule{Host: h, IngressRuleValue: networkingv1.IngressRuleValue{
			HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{{Path: "/", PathType: &prefix, Backend: backend}}}}})
	}
	if class := orDefault(s.IngressClass, r.opts.IngressClass); class != "" {
		spec.IngressClassName = &class
	}
	if s.HasTLS() {
		spec.TLS = []networkingv1.IngressTLS{{Hosts: hosts, SecretName: s.TLSSecretName(name)}}
	}
	_ = r.add(&networkingv1.Ingress{
		TypeMeta:   typeMeta("networking.k8s.io/v1", "Ingress"),
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: r.namespace, Labels: ingressLabels(s, labels), Annotations: ingressAnnotations(s)},
		Spec:       spec,
	})
}

// ingressLabels are the Ingress's labels: the service's, and the
// original's switches for its own ingress controller, as it set them
// (httpsOnly, httpsBackend, http2: "true" or "false"), when written.
func ingressLabels(s *manifest.Service, labels map[string]string) map[string]string {
	switches := map[string]*bool{"httpsOnly": s.HTTPSOnly, "httpsBackend": s.HTTPSBackend, "http2": s.HTTP2}
	out := maps.Clone(labels)
	for key, set := range switches {
		if set != nil {
			out[key] = strconv.FormatBool(*set)
		}
	}
	return out
}

func backendPort(s *manifest.Service) int {
	if s.BackendPort != 0 {
		return s.BackendPort
	}
	if ports := s.ServicePorts(); len(ports) > 0 {
		return ports[0]
	}
	return 0
}

func ingressAnnotations(s *manifest.Service) map[string]string {
	ann := map[string]string{}
	if t := s.TLS; t != nil {
		switch {
		case t.ClusterIssuer != "":
			ann[certManagerClusterIssuer] = t.ClusterIssuer
		case t.Issuer != "":
			ann[certManagerIssuer] = t.Issuer
		case t.Vault != "":
			ann[AnnotationVaultPath] = t.Vault
		}
	}
	// The original's switches for its nginx ingress controller.
	if isTrue(s.HTTPSOnly) {
		ann["nginx.ingress.kubernetes.io/force-ssl-redirect"] = "true"
	}
	if isTrue(s.HTTPSBackend) {
		ann["nginx.ingress.kubernetes.io/backend-protocol"] = "HTTPS"
	}
	if len(ann) == 0 {
		return nil
	}
	return ann
}

func isTrue(b *bool) bool { return b != nil && *b }
