package manifest

import (
	"fmt"
	"path"
	"regexp"
	"runtime"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/api/validate/content"
	"k8s.io/apimachinery/pkg/util/validation"
)

var (
	kinds     = []string{KindDeployment, KindStatefulSet, KindJob, KindCronJob}
	runtimes  = []string{"nodejs", "java", "go", "other"}
	protocols = []string{"http", "tcp"}
)

// Label keys envop sets itself; a service may not override them because
// selectors and pruning depend on them.
var reservedLabelPrefixes = []string{"app.kubernetes.io/", "envop.io/"}

func (v *checker) services(e *Environment) {
	v.eachService(e)
	names := map[string]string{}
	objects := map[string]string{}
	for i := range e.Services {
		s := &e.Services[i]
		np := joinPath(s.Path, "name")
		v.unique(names, s.Name, np, "service")
		for _, obj := range objectNames(e, s) {
			if owner, ok := objects[obj]; ok && owner != s.Name {
				v.errorf(np, "object name %q collides with service %q", obj, owner)
			}
			objects[obj] = s.Name
		}
	}
	v.sharedHosts(e)
	v.sharedClaims(e)
}

// sharedHosts refuses a host named twice: two Ingress rules for one host
// and path / route unpredictably, whichever controller serves them.
func (v *checker) sharedHosts(e *Environment) {
	owners := map[string]string{}
	for i := range e.Services {
		s := &e.Services[i]
		up := joinPath(s.Path, "external_url")
		for j, h := range s.ExternalURL {
			hp := itemPath(up, j)
			if !v.f.positions.has(hp) {
				hp = up
			}
			key := strings.ToLower(h)
			switch owner, ok := owners[key]; {
			case !ok || h == "":
				owners[key] = s.Name
			case owner == s.Name:
				v.errorf(hp, "duplicate host %q", h)
			default:
				v.errorf(hp, "host %q is already served by service %q: one host, one service", h, owner)
			}
		}
	}
}

// sharedClaims lets services share a claim only when they define it alike:
// one claim is rendered, so a second, different size or class would be
// silently lost. StatefulSet claims are per pod and never shared.
func (v *checker) sharedClaims(e *Environment) {
	type claim struct {
		service string
		vol     *Volume
	}
	first := map[string]claim{}
	for i := range e.Services {
		s := &e.Services[i]
		if s.WorkloadKind() == KindStatefulSet {
			continue
		}
		for j := range s.Volumes {
			vol := &s.Volumes[j]
			if !vol.IsClaim() || vol.Name == "" {
				continue
			}
			c, ok := first[vol.Name]
			if !ok {
				first[vol.Name] = claim{s.Name, vol}
				continue
			}
			if c.service == s.Name {
				continue // a duplicate volume of one service is reported by volumes
			}
			if diff := claimDifference(c.vol, vol); diff != "" {
				v.errorf(joinPath(vol.Path, "name"), "claim %q is also defined by service %q with %s: services that share a claim must define it alike (or use provisioning: manual)", vol.Name, c.service, diff)
			}
		}
	}
}

// claimDifference names the first setting in which two definitions of one
// claim differ, with the first's value, or "" when they agree.
func claimDifference(a, b *Volume) string {
	switch {
	case a.Size != b.Size:
		return fmt.Sprintf("size %q", a.Size)
	case strings.Join(a.Modes, ",") != strings.Join(b.Modes, ","):
		return fmt.Sprintf("modes %v", a.Modes)
	case a.Type != b.Type:
		return fmt.Sprintf("type %q", a.Type)
	case a.StorageClass != b.StorageClass:
		return fmt.Sprintf("storage_class %q", a.StorageClass)
	case a.Provisioning != b.Provisioning:
		return fmt.Sprintf("provisioning %q", a.Provisioning)
	}
	return ""
}

// eachService checks every service on its own. A long list is split in
// runs checked side by side: a service's checks read only the file, and the
// diagnostics are sorted afterwards, so the result is the same.
func (v *checker) eachService(e *Environment) {
	const perWorker = 64
	workers := min(runtime.GOMAXPROCS(0), len(e.Services)/perWorker)
	if workers < 2 {
		for i := range e.Services {
			v.service(e, &e.Services[i])
		}
		return
	}
	parts := make([]checker, workers)
	var wg sync.WaitGroup
	for w := range parts {
		parts[w].f = v.f
		lo, hi := w*len(e.Services)/workers, (w+1)*len(e.Services)/workers
		wg.Go(func() {
			for i := lo; i < hi; i++ {
				parts[w].service(e, &e.Services[i])
			}
		})
	}
	wg.Wait()
	for _, p := range parts {
		v.diags = append(v.diags, p.diags...)
	}
}

// objectNames are the names a service gives the objects it renders.
func objectNames(e *Environment, s *Service) []string {
	names := []string{s.Name}
	if s.IsBlueGreen(e) {
		names = append(names, s.Name+"-"+ColourBlue, s.Name+"-"+ColourGreen)
	}
	if s.WorkloadKind() == KindStatefulSet {
		names = append(names, s.Name+"-headless")
	}
	return names
}

func (v *checker) service(e *Environment, s *Service) {
	v.serviceName(e, s)
	v.serviceKind(s)
	v.image(s)
	v.ports(s)
	if s.Replicas != nil && *s.Replicas < 0 {
		v.errorf(joinPath(s.Path, "replicas"), "must not be negative")
	}
	v.envVars(s.Env)
	if s.IsBlueGreen(e) {
		for _, ev := range s.Env {
			if ev.Name == EnvColour {
				v.errorf(joinPath(ev.Path, "name"), "%s is reserved: envop sets it to the colour of each blue/green pod", EnvColour)
			}
		}
	}
	v.envFrom(s.EnvFrom)
	v.resources(s)
	v.volumes(s.Volumes, s.WorkloadKind())
	v.hpa(s)
	v.ingress(e, s)
	v.annotations(joinPath(s.Path, "annotations"), s.Annotations)
	v.podLabels(joinPath(s.Path, "labels"), s.Labels)
	v.probe(s, s.LivenessProbe)
	v.probe(s, s.ReadinessProbe)
	v.probe(s, s.StartupProbe)
	v.healthCheck(s.HealthCheck)
	if s.HealthCheck != nil && s.LivenessProbe != nil {
		v.warnf(joinPath(s.Path, "health_check"), "is ignored: liveness_probe is set and takes its place")
	}
	v.initContainers(s)
	if s.Deployment != nil {
		v.deployment(s.Deployment, s.WorkloadKind())
	}
	v.servicePresets(e, s)
	v.labels(joinPath(s.Path, "node_selector"), s.NodeSelector)
	v.tolerations(s.Tolerations)
	v.oneOf(joinPath(s.Path, "runtime"), s.Runtime, runtimes...)
	v.customResource(s)
	v.typedResources(s)
	v.reservedRefs(serviceRefs(e, s))
	v.reservedClaims(s.Volumes, s.InitContainers)
	if s.GracePeriod != nil && *s.GracePeriod < 0 {
		v.errorf(joinPath(s.Path, "graceperiod"), "must not be negative")
	}
	v.serviceNamespace(e, s)
}

// serviceNamespace accepts a service's namespace that repeats its
// environment's, as redundant: the original ignored the field, and a
// service lives in its environment's namespace, where its operator runs.
// Without an environment namespace the operator's own is compared when it
// loads the file (ServiceNamespaces).
func (v *checker) serviceNamespace(e *Environment, s *Service) {
	if s.Namespace == "" {
		return
	}
	np := joinPath(s.Path, "namespace")
	switch {
	case e.Namespace == "":
		v.warnf(np, "is redundant: a service lives in its environment's namespace, the operator's own when the environment names none; the operator refuses the file unless it runs in %q (set namespace on the environment instead)", s.Namespace)
	case s.Namespace == e.Namespace:
		v.warnf(np, "is redundant: a service always lives in its environment's namespace (%s); remove it", e.Namespace)
	default:
		v.errorf(np, "%q is not the environment's namespace %q: a service lives in its environment's namespace, where its operator runs", s.Namespace, e.Namespace)
	}
}

// ServiceNamespaces reports, at their position, the services of env whose
// namespace is written and is not ns, the namespace env is applied in.
func ServiceNamespaces(f *File, env *Environment, ns string) Diagnostics {
	v := &checker{f: f}
	for i := range env.Services {
		if s := &env.Services[i]; s.Namespace != "" && s.Namespace != ns {
			v.errorf(joinPath(s.Path, "namespace"), "%q is not the namespace the operator runs in, %q: a service lives in its environment's namespace", s.Namespace, ns)
		}
	}
	return v.diags
}

func (v *checker) serviceName(e *Environment, s *Service) {
	np := joinPath(s.Path, "name")
	if !v.required(np, s.Name) {
		return
	}
	v.definesReserved(np, s.Name)
	if s.IsCustomResource() {
		v.dnsSubdomain(np, s.Name)
		return
	}
	// Service objects need an RFC 1035 label (starting with a letter).
	if !v.invalid(np, s.Name, validation.IsDNS1035Label(s.Name)) {
		return
	}
	if s.IsBlueGreen(e) && len(s.Name) > 63-len("-green") {
		v.errorf(np, "must be at most %d characters for blue/green (the colours add -green)", 63-len("-green"))
	}
	if s.WorkloadKind() == KindStatefulSet && len(s.Name) > 63-len("-headless") {
		v.errorf(np, "must be at most %d characters for a statefulset (its headless Service adds -headless)", 63-len("-headless"))
	}
}

func (v *checker) serviceKind(s *Service) {
	kp := joinPath(s.Path, "kind")
	v.oneOf(kp, s.Kind, kinds...)
	sp := joinPath(s.Path, "schedule")
	switch {
	case s.WorkloadKind() == KindCronJob && s.Schedule == "":
		v.errorf(sp, "required for kind cronjob")
	case s.WorkloadKind() != KindCronJob && s.Schedule != "":
		v.errorf(sp, "only applies to kind cronjob")
	case s.Schedule != "" && !validSchedule(s.Schedule):
		v.errorf(sp, "must be a cron expression of five fields or a @macro, got %q", s.Schedule)
	}
}

// validSchedule checks the shape of a cron schedule; the API server's cron
// parser has the final word.
func validSchedule(s string) bool {
	if strings.HasPrefix(s, "@") {
		switch s {
		case "@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly":
			return true
		}
		return false
	}
	fields := strings.Fields(s)
	if strings.HasPrefix(s, "TZ=") || strings.HasPrefix(s, "CRON_TZ=") {
		return false // the API server rejects time zones here; use timeZone
	}
	if len(fields) != 5 {
		return false
	}
	for _, f := range fields {
		if strings.Trim(f, "0123456789*/,-?LW#ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") != "" {
			return false
		}
	}
	return true
}

func (v *checker) image(s *Service) {
	v.labelValue(joinPath(s.Path, "version"), s.Version)
	if s.Image != "" {
		if problem := imageProblem(s.Image); problem != "" {
			v.errorf(joinPath(s.Path, "image"), "%q is not an image reference: %s", s.Image, problem)
		}
		if s.Application != "" {
			v.errorf(joinPath(s.Path, "application"), "application and image are mutually exclusive")
		}
	}
	if s.Application != "" && !validRepository(s.Application) {
		v.errorf(joinPath(s.Path, "application"), "must be an image name (lowercase letters, digits, '.', '_', '-', '/'), got %q", s.Application)
	}
}

var (
	imageTagPattern    = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)
	imageDigestPattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$`)
	imageHostPattern   = regexp.MustCompile(`^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*(?::[0-9]+)?$`)
)

// imageProblem says what is wrong with an image reference, or "" when it
// follows the registry grammar: [host[:port]/]path[:tag][@digest], the path
// in lowercase. The first component is a host when it has a dot or a port,
// or is localhost.
func imageProblem(ref string) string {
	if strings.Contains(ref, "://") {
		return "no scheme: write host/path, not https://host/path"
	}
	name, digest, pinned := strings.Cut(ref, "@")
	if pinned && !imageDigestPattern.MatchString(digest) {
		return fmt.Sprintf("digest %q is not algorithm:hex", digest)
	}
	if i := strings.LastIndex(name, ":"); i > strings.LastIndex(name, "/") {
		if tag := name[i+1:]; !imageTagPattern.MatchString(tag) {
			return fmt.Sprintf("tag %q: up to 128 letters, digits, '_', '.' and '-', not starting with '.' or '-'", tag)
		}
		name = name[:i]
	}
	if host, rest, ok := strings.Cut(name, "/"); ok && (strings.ContainsAny(host, ".:") || host == "localhost") {
		if !imageHostPattern.MatchString(host) {
			return fmt.Sprintf("registry host %q is not a host name with an optional port", host)
		}
		name = rest
	}
	if !validRepository(name) || strings.Contains(name, "//") {
		return fmt.Sprintf("repository %q: lowercase letters, digits, '.', '_', '-' and '/' between path components", name)
	}
	return ""
}

func validRepository(s string) bool {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || strings.ContainsRune("._-/", r)) {
			return false
		}
	}
	return s != "" && !strings.HasPrefix(s, "/") && !strings.HasSuffix(s, "/")
}

func (v *checker) ports(s *Service) {
	pp := joinPath(s.Path, "ports")
	if !v.f.positions.has(pp) {
		pp = joinPath(s.Path, "port")
	}
	seen := map[int]bool{}
	for i, p := range s.Ports {
		ip := pp
		if i < len(s.portPaths) {
			ip = s.portPaths[i]
		}
		if validation.IsValidPortNum(p) != nil {
			v.errorf(ip, "port %d out of range 1-65535", p)
		} else if seen[p] {
			v.errorf(ip, "duplicate port %d", p)
		}
		seen[p] = true
	}
	v.oneOf(joinPath(s.Path, "protocol"), strings.ToLower(s.Protocol), protocols...)
}

func (v *checker) envVars(vars []EnvVar) {
	seen := map[string]string{}
	for _, e := range vars {
		v.envVar(e)
		np := joinPath(e.Path, "name")
		if e.Inverted {
			np = joinPath(e.Path, "secret")
		}
		v.unique(seen, e.Name, np, "environment variable")
	}
}

func (v *checker) envVar(e EnvVar) {
	np := joinPath(e.Path, "name")
	if e.Inverted {
		v.msgs(joinPath(e.Path, "secret"), validation.IsEnvVarName(e.Name))
		v.dnsSubdomain(joinPath(e.Path, "value"), e.Secret)
		v.msgs(joinPath(e.Path, "value"), configMapKey(e.Key))
		return
	}
	if e.Name == "" && e.Secret != "" {
		// Half of the original's inverted form, or a secret variable
		// without its name: say what either needs.
		v.errorf(e.Path, "a secret variable needs name (the variable) and secret (the Secret), or the original's form {secret: VARIABLE, value: \"secret[/key]\"}")
		return
	}
	if v.required(np, e.Name) {
		v.invalid(np, e.Name, validation.IsEnvVarName(e.Name))
	}
	sources := 0
	for _, set := range []bool{e.HasValue, e.PodField != "", e.Secret != "", e.ConfigMap != ""} {
		if set {
			sources++
		}
	}
	if sources > 1 {
		v.errorf(e.Path, "value, pod_field, secret and config_map are mutually exclusive")
	}
	v.dnsSubdomain(joinPath(e.Path, "secret"), e.Secret)
	v.dnsSubdomain(joinPath(e.Path, "config_map"), e.ConfigMap)
	if e.Key != "" {
		if e.Secret == "" && e.ConfigMap == "" {
			v.errorf(joinPath(e.Path, "key"), "only applies with secret or config_map")
		} else {
			v.msgs(joinPath(e.Path, "key"), configMapKey(e.Key))
		}
	}
	if e.PodField != "" && !validPodField(e.PodField) {
		v.errorf(joinPath(e.Path, "pod_field"), "unsupported field %q (want e.g. metadata.name, metadata.namespace, spec.nodeName, status.podIP)", e.PodField)
	}
}

func configMapKey(k string) []string {
	if k == "" {
		return nil
	}
	return validation.IsConfigMapKey(k)
}

// podFields are the fieldRef paths the API server accepts for env vars.
var podFields = map[string]bool{
	"metadata.name": true, "metadata.namespace": true, "metadata.uid": true,
	"spec.nodeName": true, "spec.serviceAccountName": true, "status.hostIP": true,
	"status.hostIPs": true, "status.podIP": true, "status.podIPs": true,
}

func validPodField(f string) bool {
	if podFields[f] {
		return true
	}
	for _, prefix := range []string{"metadata.labels['", "metadata.annotations['"} {
		if strings.HasPrefix(f, prefix) && strings.HasSuffix(f, "']") {
			return len(content.IsLabelKey(f[len(prefix):len(f)-2])) == 0
		}
	}
	return false
}

func (v *checker) envFrom(list []EnvFrom) {
	for _, e := range list {
		switch {
		case e.Secret == "" && e.ConfigMap == "":
			v.errorf(e.Path, "one of secret or config_map is required")
		case e.Secret != "" && e.ConfigMap != "":
			v.errorf(joinPath(e.Path, "config_map"), "secret and config_map are mutually exclusive")
		}
		v.dnsSubdomain(joinPath(e.Path, "secret"), e.Secret)
		v.dnsSubdomain(joinPath(e.Path, "config_map"), e.ConfigMap)
		if e.Prefix != "" {
			v.msgs(joinPath(e.Path, "prefix"), validation.IsEnvVarName(e.Prefix))
		}
	}
}

func (v *checker) annotations(p string, m map[string]string) {
	for _, k := range sortedKeys(m) {
		v.invalid(keyPath(p, k), k, content.IsLabelKey(k))
	}
}

func (v *checker) podLabels(p string, m map[string]string) {
	v.labels(p, m)
	for _, k := range sortedKeys(m) {
		for _, prefix := range reservedLabelPrefixes {
			if strings.HasPrefix(k, prefix) {
				v.errorf(keyPath(p, k), "label %q is set by envop and cannot be overridden", k)
			}
		}
	}
}

func (v *checker) servicePresets(e *Environment, s *Service) {
	known := map[string]bool{}
	for _, p := range e.Presets {
		known[p.Name] = true
	}
	pp := joinPath(s.Path, "presets")
	for i, name := range s.Presets {
		ip := itemPath(pp, i)
		if !v.f.positions.has(ip) {
			ip = pp
		}
		if !known[name] {
			v.errorf(ip, "unknown preset %q", name)
		}
	}
}

func (v *checker) customResource(s *Service) {
	if !s.IsCustomResource() {
		if s.Options != nil {
			v.errorf(joinPath(s.Path, "options"), "only applies with type (a legacy custom resource)")
		}
		if s.APIVersion != "" {
			v.errorf(joinPath(s.Path, "api_version"), "only applies with type (a legacy custom resource)")
		}
		return
	}
	tp := joinPath(s.Path, "type")
	v.msgs(tp, validation.IsDNS1035Label(strings.ToLower(s.Type)))
	if s.Kind != "" {
		v.errorf(joinPath(s.Path, "kind"), "type (a legacy custom resource) and kind are mutually exclusive")
	}
	ap := joinPath(s.Path, "api_version")
	if s.APIVersion == "" {
		ap = keyPath(joinPath(s.Path, "options"), "api_version")
	}
	if av := s.CustomResourceAPIVersion(); av != "" {
		group, version, found := strings.Cut(av, "/")
		if !found || group == "" || len(validation.IsDNS1123Subdomain(group)) > 0 || len(validation.IsDNS1035Label(version)) > 0 {
			v.errorf(ap, "must be GROUP/VERSION, got %q", av)
		}
	}
}

func (v *checker) initContainers(s *Service) {
	seen := map[string]string{}
	for _, c := range s.InitContainers {
		np := joinPath(c.Path, "name")
		if v.required(np, c.Name) {
			v.dnsLabel(np, c.Name)
		}
		if c.Name == s.Name {
			v.errorf(np, "%q is the name of the service's own container; give the init container another", c.Name)
		}
		v.unique(seen, c.Name, np, "init container")
		if c.Application != "" && !validRepository(c.Application) {
			v.errorf(joinPath(c.Path, "application"), "must be an image name, got %q", c.Application)
		}
		if c.Image != "" && c.Application != "" {
			v.errorf(joinPath(c.Path, "application"), "application and image are mutually exclusive")
		}
		if problem := imageProblem(c.Image); c.Image != "" && problem != "" {
			v.errorf(joinPath(c.Path, "image"), "%q is not an image reference: %s", c.Image, problem)
		}
		v.labelValue(joinPath(c.Path, "version"), c.Version)
		v.envVars(c.Env)
		v.initVolumes(s, c.Volumes)
	}
}

// initVolumes checks an init container's volumes. One named like a volume
// of the service only mounts it (as in the original): its name and path
// are all that count. Others are volumes of their own.
func (v *checker) initVolumes(s *Service, vols []Volume) {
	pod := map[string]bool{}
	for _, vol := range s.Volumes {
		pod[vol.Name] = true
	}
	var own []Volume
	paths := map[string]string{}
	for _, vol := range vols {
		if !pod[vol.Name] {
			own = append(own, vol)
			continue
		}
		mp := joinPath(vol.Path, "path")
		if v.required(mp, vol.MountPath) && !path.IsAbs(vol.MountPath) {
			v.errorf(mp, "must be an absolute path, got %q", vol.MountPath)
		}
		if first, ok := paths[vol.MountPath]; ok && vol.MountPath != "" {
			v.errorf(mp, "mount path %q already used (at %s)", vol.MountPath, first)
		}
		paths[vol.MountPath] = mp
	}
	v.volumes(own, KindDeployment)
}

func (v *checker) volumes(vols []Volume, kind string) {
	names, paths := map[string]string{}, map[string]string{}
	for i := range vols {
		vol := &vols[i]
		np := joinPath(vol.Path, "name")
		if v.required(np, vol.Name) {
			v.dnsLabel(np, vol.Name)
		}
		v.unique(names, vol.Name, np, "volume")
		mp := joinPath(vol.Path, "path")
		if v.required(mp, vol.MountPath) {
			if !path.IsAbs(vol.MountPath) {
				v.errorf(mp, "must be an absolute path, got %q", vol.MountPath)
			}
			if first, ok := paths[vol.MountPath]; ok {
				v.errorf(mp, "mount path %q already used (at %s)", vol.MountPath, first)
			}
			paths[vol.MountPath] = mp
		}
		if vol.IsClaim() {
			v.claim(vol, kind)
		} else {
			v.objectVolume(vol)
		}
	}
}

var accessModes = []string{"ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod"}

func (v *checker) claim(vol *Volume, kind string) {
	v.oneOf(joinPath(vol.Path, "provisioning"), vol.Provisioning, "dynamic", ProvisioningManual)
	sp := joinPath(vol.Path, "size")
	// Items without a type mean a Secret or ConfigMap: the error at items
	// says so, and a missing size would only mislead.
	untypedItems := vol.Type == "" && len(vol.Items) > 0
	if vol.Provisioning != ProvisioningManual && !untypedItems && v.required(sp, vol.Size) {
		v.quantity(sp, vol.Size, true)
	} else if vol.Size != "" {
		v.quantity(sp, vol.Size, true)
	}
	for i, m := range vol.Modes {
		mp := itemPath(joinPath(vol.Path, "modes"), i)
		if !v.f.positions.has(mp) {
			mp = joinPath(vol.Path, "modes")
		}
		v.oneOf(mp, m, accessModes...)
	}
	v.dnsSubdomain(joinPath(vol.Path, "storage_class"), vol.StorageClass)
	switch {
	case untypedItems:
		v.errorf(joinPath(vol.Path, vol.ItemsKey), "only applies to secret and configmap volumes, and a volume without type is a claim: add type: configmap or type: secret")
	case len(vol.Items) > 0:
		v.errorf(joinPath(vol.Path, vol.ItemsKey), "only applies to secret and configmap volumes")
	}
	_ = kind
}

func (v *checker) objectVolume(vol *Volume) {
	for _, f := range []string{"size", "modes", "storage_class", "provisioning"} {
		if v.f.positions.has(joinPath(vol.Path, f)) {
			v.errorf(joinPath(vol.Path, f), "only applies to claims, not %s volumes", vol.Type)
		}
	}
	for _, it := range vol.Items {
		if v.required(joinPath(it.Path, "key"), it.Key) {
			v.msgs(joinPath(it.Path, "key"), validation.IsConfigMapKey(it.Key))
		}
		fp := joinPath(it.Path, "path")
		if v.required(fp, it.FilePath) && (path.IsAbs(it.FilePath) || strings.Contains("/"+it.FilePath+"/", "/../")) {
			v.errorf(fp, "must be a relative path without '..', got %q", it.FilePath)
		}
		if it.Mode != nil && (*it.Mode < 0 || *it.Mode > 0o777) {
			v.errorf(joinPath(it.Path, "mode"), "must be a file mode from 0 to 0777, got %#o", *it.Mode)
		}
	}
}

func (v *checker) healthCheck(h *HealthCheck) {
	if h == nil {
		return
	}
	if len(h.Command) == 0 {
		v.errorf(joinPath(h.Path, "command"), "required")
	}
	v.nonNegative(joinPath(h.Path, "initial_delay"), h.InitialDelay)
	v.nonNegative(joinPath(h.Path, "timeout"), h.Timeout)
}

func (v *checker) nonNegative(p string, n int32) {
	if n < 0 {
		v.errorf(p, "must not be negative")
	}
}

// probePort checks a probe's port; a name must be one the container's
// ports get (http-80, or tcp-80 with protocol tcp), or the kubelet finds
// nothing to probe and the pods never become ready.
func (v *checker) probePort(s *Service, path string, p PortRef) {
	v.portRef(path, p)
	if p.Name == "" {
		return
	}
	var names []string
	for _, port := range s.ServicePorts() {
		name := s.PortName(port)
		if name == p.Name {
			return
		}
		names = append(names, name)
	}
	if len(names) == 0 {
		v.errorf(path, "port %q names no container port: the service has none; give a number", p.Name)
		return
	}
	v.errorf(path, "port %q names no container port (they are %s); give a number or one of those names", p.Name, strings.Join(names, ", "))
}

func (v *checker) probe(s *Service, p *Probe) {
	if p == nil {
		return
	}
	handlers := 0
	if p.HTTPGet != nil {
		handlers++
		v.probePort(s, joinPath(p.HTTPGet.Path, "port"), p.HTTPGet.Port)
		v.oneOf(joinPath(p.HTTPGet.Path, "scheme"), p.HTTPGet.Scheme, "HTTP", "HTTPS")
	}
	if p.TCPSocket != nil {
		handlers++
		v.probePort(s, joinPath(p.TCPSocket.Path, "port"), p.TCPSocket.Port)
	}
	if p.Exec != nil {
		handlers++
		if len(p.Exec) == 0 {
			v.errorf(joinPath(p.Path, "exec.command"), "required")
		}
	}
	if handlers != 1 {
		v.errorf(p.Path, "exactly one of http_get, tcp_socket and exec is required")
	}
	for name, n := range map[string]int32{
		"initial_delay_seconds": p.InitialDelaySeconds, "timeout_seconds": p.TimeoutSeconds,
		"period_seconds": p.PeriodSeconds, "success_threshold": p.SuccessThreshold,
		"failure_threshold": p.FailureThreshold,
	} {
		v.nonNegative(joinPath(p.Path, name), n)
	}
}

func (v *checker) portRef(p string, ref PortRef) {
	if ref.Name != "" {
		v.msgs(p, validation.IsValidPortName(ref.Name))
		return
	}
	if validation.IsValidPortNum(ref.Number) != nil {
		v.errorf(p, "port %d out of range 1-65535", ref.Number)
	}
}
