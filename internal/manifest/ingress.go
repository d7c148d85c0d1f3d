package manifest

import "strings"

// The Ingress facts below are shared by the renderer and the checks of
// what a file may reference, so both read the same hosts and Secrets.

// HasTLS reports whether the service's Ingresses get TLS on every host:
// ssl: true, or any TLS source.
func (s *Service) HasTLS() bool {
	return s.SSL || s.TLS != nil || s.TLSSecret != ""
}

// TLSSecretName is the Secret the Ingress called ingress takes its
// certificate from: tls_secret, else <ingress>-tls.
func (s *Service) TLSSecretName(ingress string) string {
	if s.TLSSecret != "" {
		return s.TLSSecret
	}
	return ingress + "-tls"
}

// PreviewHosts are the hosts of a blue/green colour's preview Ingress: the
// colour's custom URLs, else the service's hosts with the first label
// suffixed by the colour (api.example.com → api-blue.example.com).
func (s *Service) PreviewHosts(colour string) []string {
	if s.Deployment != nil && len(s.Deployment.CustomURLs[colour]) > 0 {
		return s.Deployment.CustomURLs[colour]
	}
	var out []string
	for _, h := range s.ExternalURL {
		out = append(out, previewHost(h, colour))
	}
	return out
}

func previewHost(host, colour string) string {
	first, rest, found := strings.Cut(host, ".")
	if found {
		return first + "-" + colour + "." + rest
	}
	return host + "-" + colour
}

// IngressNames are the Ingresses the service renders in env: its own name
// when it has hosts and, for blue/green, each colour that has preview hosts.
func (s *Service) IngressNames(env *Environment) []string {
	var out []string
	if len(s.ExternalURL) > 0 {
		out = append(out, s.Name)
	}
	if !s.IsBlueGreen(env) {
		return out
	}
	for _, colour := range []string{ColourBlue, ColourGreen} {
		if len(s.PreviewHosts(colour)) > 0 {
			out = append(out, s.Name+"-"+colour)
		}
	}
	return out
}
