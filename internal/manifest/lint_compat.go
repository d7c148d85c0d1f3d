package manifest

// ingressSwitch is one of the original's Ingress switches: labels its own
// ingress controller read.
type ingressSwitch struct {
	field string
	value *bool
	// whenTrue says what does the job on the controllers people run.
	whenTrue string
}

// lintIngressSwitches says what httpsOnly, httpsBackend and http2 do
// here: the label the original set, which no standard controller reads.
func (v *checker) lintIngressSwitches(s *Service) {
	for _, sw := range []ingressSwitch{
		{"httpsOnly", s.HTTPSOnly, "; envop also sets the ingress-nginx annotation force-ssl-redirect; with another controller, use ssl or tls (most controllers then redirect HTTP to HTTPS)"},
		{"httpsBackend", s.HTTPSBackend, "; envop also sets the ingress-nginx annotation backend-protocol: HTTPS; with another controller, HTTPS to the pods is set in that controller's own configuration"},
		{"http2", s.HTTP2, "; HTTP/2 is the ingress controller's own setting (ingress-nginx serves it over TLS by default)"},
	} {
		if sw.value == nil {
			continue
		}
		p := joinPath(s.Path, sw.field)
		if len(s.ExternalURL) == 0 {
			v.warnf(p, "has no effect: the service has no external_url, so no Ingress")
			continue
		}
		extra := ""
		if *sw.value {
			extra = sw.whenTrue
		}
		v.warnf(p, "becomes the label %s: \"%t\" on the Ingress, as in the original, for its own ingress controller; no standard ingress controller reads it%s",
			sw.field, *sw.value, extra)
	}
}
