package manifest

import (
	"fmt"
	"slices"
	"strings"
)

// The file changes its own workloads and nothing else: the rules below keep
// it away from the operator's objects, from subjects that stand for
// everyone, and from Services outside the environment. docs/manifest.md
// ("What a file may not do") lists them for users.

// Names of the operator's installation: its ServiceAccount, Role, Deployment
// and Service are envop; its Secrets (envop-tokens, envop-git), state
// ConfigMaps (envop-state-<service>) and audit ConfigMaps
// (envop-audit-<environment>) start with envop-.
const (
	reservedName   = "envop"
	reservedPrefix = "envop-"
)

// IsReserved reports whether name belongs to the operator's installation
// (envop, or any name starting with envop-). A file that could define or
// mount such a name could overwrite the operator's objects or read its
// credentials.
func IsReserved(name string) bool {
	name = strings.ToLower(name)
	return name == reservedName || strings.HasPrefix(name, reservedPrefix)
}

// Kinds of the objects a file refers to by name.
const (
	kindSecret    = "Secret"
	kindConfigMap = "ConfigMap"
)

// objectRef is an existing Secret or ConfigMap that the file names, and
// where the name is written.
type objectRef struct {
	kind, name, path string
	// tls marks the Secret of an Ingress certificate, which cert-manager
	// or Vault write; ingress names the Ingress when the name is its
	// default (<ingress>-tls), which the file does not write.
	tls     bool
	ingress string
}

// podRefs lists the Secrets and ConfigMaps a pod's parts name: env and
// env_from, Secret and ConfigMap volumes, and the init containers' own.
func podRefs(env []EnvVar, from []EnvFrom, vols []Volume, inits []Container) []objectRef {
	refs := envRefs(nil, env)
	for _, c := range inits {
		refs = envRefs(refs, c.Env)
	}
	for _, ef := range from {
		refs = addRef(refs, kindSecret, ef.Secret, joinPath(ef.Path, "secret"))
		refs = addRef(refs, kindConfigMap, ef.ConfigMap, joinPath(ef.Path, "config_map"))
	}
	for _, vol := range podVolumes(vols, inits) {
		switch {
		case vol.IsConfigMap():
			refs = addRef(refs, kindConfigMap, vol.Name, joinPath(vol.Path, "name"))
		case !vol.IsClaim():
			refs = addRef(refs, kindSecret, vol.Name, joinPath(vol.Path, "name"))
		}
	}
	return refs
}

func envRefs(refs []objectRef, vars []EnvVar) []objectRef {
	for _, e := range vars {
		sp := joinPath(e.Path, "secret")
		if e.Inverted {
			sp = joinPath(e.Path, "value") // {secret: VAR, value: "name[/key]"}
		}
		refs = addRef(refs, kindSecret, e.Secret, sp)
		refs = addRef(refs, kindConfigMap, e.ConfigMap, joinPath(e.Path, "config_map"))
	}
	return refs
}

func addRef(refs []objectRef, kind, name, path string) []objectRef {
	if name == "" {
		return refs
	}
	return append(refs, objectRef{kind: kind, name: name, path: path})
}

// podVolumes are vols and the volumes init containers declare that vols do
// not name (one named like a pod volume only mounts it), each once.
func podVolumes(vols []Volume, inits []Container) []*Volume {
	var out []*Volume
	seen := map[string]bool{}
	for i := range vols {
		seen[vols[i].Name] = true
		out = append(out, &vols[i])
	}
	for _, c := range inits {
		for i := range c.Volumes {
			if vol := &c.Volumes[i]; !seen[vol.Name] {
				seen[vol.Name] = true
				out = append(out, vol)
			}
		}
	}
	return out
}

// serviceRefs are the Secrets and ConfigMaps a service names, its TLS
// Secrets included.
func serviceRefs(e *Environment, s *Service) []objectRef {
	return append(podRefs(s.Env, s.EnvFrom, s.Volumes, s.InitContainers), tlsRefs(e, s)...)
}

func presetRefs(p *Preset) []objectRef {
	return podRefs(p.Env, p.EnvFrom, p.Volumes, p.InitContainers)
}

// tlsRefs are the Secrets the service's Ingresses take their certificate
// from: tls_secret, else each Ingress's default, reported where the file
// asks for TLS (ssl, else tls).
func tlsRefs(e *Environment, s *Service) []objectRef {
	if s.TLSSecret != "" {
		return []objectRef{{kind: kindSecret, name: s.TLSSecret, path: joinPath(s.Path, "tls_secret"), tls: true}}
	}
	if !s.HasTLS() {
		return nil
	}
	at := joinPath(s.Path, "ssl")
	if !s.SSL && s.TLS != nil {
		at = s.TLS.Path
	}
	var refs []objectRef
	for _, ingress := range s.IngressNames(e) {
		refs = append(refs, objectRef{kind: kindSecret, name: s.TLSSecretName(ingress), path: at, tls: true, ingress: ingress})
	}
	return refs
}

// definesReserved reports a name the file gives an object of its own (a
// service, gist, claim or TLS Secret) that the installation uses.
func (v *checker) definesReserved(path, name string) {
	if IsReserved(name) {
		v.errorf(path, "name %q is reserved for the operator's installation (envop, envop-*), whose objects the file may not replace: choose another name", name)
	}
}

// reservedRefs reports references to the installation's Secrets and
// ConfigMaps. A TLS Secret is written, not read: it counts as a name of
// the file's own. A default one (<ingress>-tls) is reserved only when the
// service's name is, which is reported there.
func (v *checker) reservedRefs(refs []objectRef) {
	for _, r := range refs {
		switch {
		case !IsReserved(r.name) || r.ingress != "":
		case r.tls:
			v.definesReserved(r.path, r.name)
		default:
			v.errorf(r.path, "%s %q is reserved for the operator's installation (envop, envop-*), whose objects the file may not use: name another %s", r.kind, r.name, r.kind)
		}
	}
}

// reservedClaims reports claims of reserved names among a pod's volumes.
func (v *checker) reservedClaims(vols []Volume, inits []Container) {
	for _, vol := range podVolumes(vols, inits) {
		if vol.IsClaim() {
			v.definesReserved(joinPath(vol.Path, "name"), vol.Name)
		}
	}
}

// accessSubject refuses subjects that stand for everyone or for service
// accounts: a RoleBinding to them opens the namespace to far more than a
// team.
func (v *checker) accessSubject(path, field, subject string) {
	who := map[string]string{"group": "a group of people", "user": "a person"}[field]
	switch {
	case !v.f.positions.has(path):
	case subject == "" || subject == "*":
		v.errorf(path, "%s %q is not a subject (empty or *, which could stand for everyone): name %s", field, subject, who)
	case strings.HasPrefix(strings.ToLower(subject), "system:"):
		v.errorf(path, "%s %q is a Kubernetes system subject (system:*): such subjects stand for everyone, for service accounts or for the cluster's own components, not for a team; name %s", field, subject, who)
	}
}

// backend accepts only a service of the environment that serves traffic:
// any other name could route the environment's hosts to a Service it does
// not own, such as the operator's.
func (v *checker) backend(e *Environment, s *Service) {
	if s.Backend == "" {
		return
	}
	var names []string
	for i := range e.Services {
		t := &e.Services[i]
		if !servesTraffic(t) {
			continue
		}
		if t.Name == s.Backend {
			v.backendPort(s, t)
			return
		}
		names = append(names, t.Name)
	}
	v.errorf(joinPath(s.Path, "backend"), "%q is not a service of this environment with ports: an Ingress routes only to the environment's own services (%s)", s.Backend, nameList(names))
}

// backendPort checks the port the Ingress routes to on the backend
// (backend_port, else the service's own first port) against the backend's
// Service: another one routes to nothing. An explicit backend_port is an
// error; the implied one, which the original format allowed, a warning.
func (v *checker) backendPort(s, backend *Service) {
	ports := backend.ServicePorts()
	if s.BackendPort != 0 {
		if !slices.Contains(ports, s.BackendPort) {
			v.errorf(joinPath(s.Path, "backend_port"), "port %d is not a port of the backend service %s (%s)", s.BackendPort, backend.Name, portList(ports))
		}
		return
	}
	if own := s.ServicePorts(); len(own) > 0 && !slices.Contains(ports, own[0]) {
		v.warnf(joinPath(s.Path, "backend"), "the Ingress routes to port %d of %s (this service's first port), which %s does not have (%s): set backend_port", own[0], backend.Name, backend.Name, portList(ports))
	}
}

// servesTraffic reports whether a service renders a Service with ports.
func servesTraffic(s *Service) bool {
	kind := s.WorkloadKind()
	return !s.IsCustomResource() && kind != KindJob && kind != KindCronJob && len(s.ServicePorts()) > 0
}

// nameList names up to ten names, then how many more.
func nameList(names []string) string {
	const most = 10
	switch {
	case len(names) == 0:
		return "it has none"
	case len(names) > most:
		return fmt.Sprintf("%s and %d more", strings.Join(names[:most], ", "), len(names)-most)
	}
	return strings.Join(names, ", ")
}
