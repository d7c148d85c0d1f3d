package render

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/envop/envop/internal/manifest"
)

// podTemplate renders the pod of a workload.
func (r *renderer) podTemplate(s *manifest.Service, instance, version string) (corev1.PodTemplateSpec, error) {
	main, err := r.container(s, version)
	if err != nil {
		return corev1.PodTemplateSpec{}, err
	}
	spec := corev1.PodSpec{
		Containers:                    []corev1.Container{main},
		InitContainers:                r.initContainers(s, version),
		Volumes:                       r.podVolumes(s),
		ImagePullSecrets:              r.pullSecrets(),
		NodeSelector:                  mergeMaps(r.env.NodeSelector, s.NodeSelector),
		Tolerations:                   tolerations(r.env, s),
		DNSConfig:                     dnsConfig(r.env, s),
		TerminationGracePeriodSeconds: s.GracePeriod,
	}
	if k := s.WorkloadKind(); k == manifest.KindJob || k == manifest.KindCronJob {
		spec.RestartPolicy = corev1.RestartPolicyOnFailure
	}
	secure(&spec, s, r.env.PodSecurity)
	if s.IsBlueGreen(r.env) {
		colourEnv(&spec, strings.TrimPrefix(instance, s.Name+"-"))
	}
	labels := r.labels(s.Name, instance, version)
	for k, v := range s.Labels {
		labels[k] = v
	}
	for k, v := range r.opts.Selectors[instance] {
		labels[k] = v // a kept selector must select the pods
	}
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: labels, Annotations: r.podAnnotations(s)},
		Spec:       spec,
	}, nil
}

// colourEnv gives every container of a blue/green colour's pods its colour.
func colourEnv(spec *corev1.PodSpec, colour string) {
	v := corev1.EnvVar{Name: manifest.EnvColour, Value: colour}
	for i := range spec.InitContainers {
		spec.InitContainers[i].Env = append(spec.InitContainers[i].Env, v)
	}
	for i := range spec.Containers {
		spec.Containers[i].Env = append(spec.Containers[i].Env, v)
	}
}

func (r *renderer) podAnnotations(s *manifest.Service) map[string]string {
	ann := mergeMaps(nil, s.Annotations)
	if h := r.configHash(s); h != "" {
		if ann == nil {
			ann = map[string]string{}
		}
		ann[AnnotationConfigHash] = h
	}
	return ann
}

// configHash combines the hashes of the gists the pod mounts.
func (r *renderer) configHash(s *manifest.Service) string {
	var parts []string
	for _, v := range allVolumes(s) {
		if h, ok := r.gistHash[v.Name]; ok && v.IsConfigMap() {
			parts = append(parts, v.Name+"="+h)
		}
	}
	if len(parts) == 0 {
		return ""
	}
	sort.Strings(parts)
	sum := sha256.Sum256([]byte(strings.Join(parts, "\n")))
	return hex.EncodeToString(sum[:])[:16]
}

func (r *renderer) container(s *manifest.Service, version string) (corev1.Container, error) {
	res, err := r.resources(s)
	if err != nil {
		return corev1.Container{}, err
	}
	c := corev1.Container{
		Name:           s.Name,
		Image:          r.image(s.Image, s.Application, s.Name, version),
		Command:        s.Command,
		Args:           s.Args,
		Ports:          containerPorts(s),
		Env:            envVars(s.Env),
		EnvFrom:        envFrom(s.EnvFrom),
		Resources:      res,
		VolumeMounts:   mounts(s.Volumes),
		LivenessProbe:  probe(s.LivenessProbe),
		ReadinessProbe: probe(s.ReadinessProbe),
		StartupProbe:   probe(s.StartupProbe),
	}
	if c.LivenessProbe == nil && s.HealthCheck != nil {
		c.LivenessProbe = &corev1.Probe{
			ProbeHandler:        corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: s.HealthCheck.Command}},
			InitialDelaySeconds: s.HealthCheck.InitialDelay,
			TimeoutSeconds:      s.HealthCheck.Timeout,
		}
	}
	return c, nil
}

// image builds [registry/][project/]application:version, or retags a full
// image reference when a version is given.
func (r *renderer) image(ref, application, name, version string) string {
	if ref != "" {
		if version == "" || version == imageTag(ref) {
			return ref
		}
		return imageRepository(ref) + ":" + version
	}
	if application == "" {
		application = name
	}
	var parts []string
	for _, p := range []string{r.opts.Registry, r.opts.Project, application} {
		if p = strings.Trim(p, "/"); p != "" {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, "/") + ":" + version
}

// imageRepository strips the tag and digest from a reference; a colon
// before the last slash belongs to a registry port.
func imageRepository(ref string) string {
	if i := strings.Index(ref, "@"); i >= 0 {
		ref = ref[:i]
	}
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		ref = ref[:i]
	}
	return ref
}

func imageTag(ref string) string {
	if i := strings.Index(ref, "@"); i >= 0 {
		ref = ref[:i]
	}
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		return ref[i+1:]
	}
	return ""
}

func portName(s *manifest.Service, p int) string { return s.PortName(p) }

func containerPorts(s *manifest.Service) []corev1.ContainerPort {
	var out []corev1.ContainerPort
	for _, p := range s.ServicePorts() {
		out = append(out, corev1.ContainerPort{Name: portName(s, p), ContainerPort: int32(p), Protocol: corev1.ProtocolTCP})
	}
	return out
}

func envVars(vars []manifest.EnvVar) []corev1.EnvVar {
	var out []corev1.EnvVar
	for _, e := range vars {
		ev := corev1.EnvVar{Name: e.Name}
		switch {
		case e.PodField != "":
			ev.ValueFrom = &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: e.PodField}}
		case e.Secret != "":
			ev.ValueFrom = &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: e.Secret}, Key: orDefault(e.Key, e.Name)}}
		case e.ConfigMap != "":
			ev.ValueFrom = &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: e.ConfigMap}, Key: orDefault(e.Key, e.Name)}}
		default:
			ev.Value = e.Value
		}
		out = append(out, ev)
	}
	return out
}

func envFrom(list []manifest.EnvFrom) []corev1.EnvFromSource {
	var out []corev1.EnvFromSource
	for _, e := range list {
		src := corev1.EnvFromSource{Prefix: e.Prefix}
		if e.Secret != "" {
			src.SecretRef = &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: e.Secret}}
		} else {
			src.ConfigMapRef = &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: e.ConfigMap}}
		}
		out = append(out, src)
	}
	return out
}

// resources applies defaults per resource and keeps the pair consistent:
// a default never contradicts what the file set, and extended resources
// get request == limit.
func (r *renderer) resources(s *manifest.Service) (corev1.ResourceRequirements, error) {
	limits, err := quantities(mergeMaps(r.opts.DefaultLimits, s.Limits))
	if err != nil {
		return corev1.ResourceRequirements{}, fmt.Errorf("limits: %w", err)
	}
	requests, err := quantities(mergeMaps(r.opts.DefaultRequests, s.Requests))
	if err != nil {
		return corev1.ResourceRequirements{}, fmt.Errorf("requests: %w", err)
	}
	for name, rq := range requests {
		lq, ok := limits[name]
		switch {
		case manifest.IsExtendedResource(string(name)) && !ok:
			limits[name] = rq
		case !ok || rq.Cmp(lq) <= 0:
		case s.Limits[string(name)] == "":
			limits[name] = rq // the file's request beats the default limit
		default:
			requests[name] = lq // the file's limit beats the default request
		}
	}
	for name, lq := range limits {
		if _, ok := requests[name]; !ok && manifest.IsExtendedResource(string(name)) {
			requests[name] = lq
		}
	}
	return corev1.ResourceRequirements{Limits: limits, Requests: requests}, nil
}

func quantities(m map[string]string) (corev1.ResourceList, error) {
	out := corev1.ResourceList{}
	for k, v := range m {
		q, err := resource.ParseQuantity(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
		out[corev1.ResourceName(k)] = q
	}
	return out, nil
}

func probe(p *manifest.Probe) *corev1.Probe {
	if p == nil {
		return nil
	}
	out := &corev1.Probe{
		InitialDelaySeconds: p.InitialDelaySeconds, TimeoutSeconds: p.TimeoutSeconds,
		PeriodSeconds: p.PeriodSeconds, SuccessThreshold: p.SuccessThreshold, FailureThreshold: p.FailureThreshold,
	}
	switch {
	case p.HTTPGet != nil:
		h := &corev1.HTTPGetAction{Path: p.HTTPGet.URLPath, Port: portRef(p.HTTPGet.Port), Host: p.HTTPGet.Host,
			Scheme: corev1.URIScheme(p.HTTPGet.Scheme)}
		for _, hd := range p.HTTPGet.Headers {
			h.HTTPHeaders = append(h.HTTPHeaders, corev1.HTTPHeader{Name: hd.Name, Value: hd.Value})
		}
		out.HTTPGet = h
	case p.TCPSocket != nil:
		out.TCPSocket = &corev1.TCPSocketAction{Port: portRef(p.TCPSocket.Port), Host: p.TCPSocket.Host}
	case p.Exec != nil:
		out.Exec = &corev1.ExecAction{Command: p.Exec}
	}
	return out
}

func portRef(p manifest.PortRef) intstr.IntOrString {
	if p.Name != "" {
		return intstr.FromString(p.Name)
	}
	return intstr.FromInt32(int32(p.Number))
}

func (r *renderer) initContainers(s *manifest.Service, version string) []corev1.Container {
	var out []corev1.Container
	for _, c := range s.InitContainers {
		// An init container's own image keeps its tag unless it names a
		// version; an application without one follows the service's version.
		v := c.Version
		if c.Image == "" {
			v = orDefault(c.Version, version)
		}
		out = append(out, corev1.Container{
			Name:         c.Name,
			Image:        r.image(c.Image, c.Application, c.Name, v),
			Command:      c.Command,
			Args:         c.Args,
			Env:          envVars(c.Env),
			VolumeMounts: mounts(c.Volumes),
		})
	}
	return out
}

func (r *renderer) pullSecrets() []corev1.LocalObjectReference {
	var out []corev1.LocalObjectReference
	for _, name := range r.opts.PullSecrets {
		if name = strings.TrimSpace(name); name != "" {
			out = append(out, corev1.LocalObjectReference{Name: name})
		}
	}
	return out
}

func tolerations(env *manifest.Environment, s *manifest.Service) []corev1.Toleration {
	list := s.Tolerations
	if len(list) == 0 {
		list = env.Tolerations
	}
	var out []corev1.Toleration
	for _, t := range list {
		out = append(out, corev1.Toleration{
			Key: t.Key, Operator: corev1.TolerationOperator(t.Operator), Value: t.Value,
			Effect: corev1.TaintEffect(t.Effect), TolerationSeconds: t.TolerationSeconds,
		})
	}
	return out
}

func dnsConfig(env *manifest.Environment, s *manifest.Service) *corev1.PodDNSConfig {
	d := s.DNS
	if d == nil || d.Ndots == nil {
		d = env.DNS
	}
	if d == nil || d.Ndots == nil {
		return nil
	}
	n := strconv.Itoa(*d.Ndots)
	return &corev1.PodDNSConfig{Options: []corev1.PodDNSConfigOption{{Name: "ndots", Value: &n}}}
}

func mergeMaps(base, over map[string]string) map[string]string {
	if len(base) == 0 && len(over) == 0 {
		return nil
	}
	out := make(map[string]string, len(base)+len(over))
	for k, v := range base {
		out[k] = v
	}
	for k, v := range over {
		out[k] = v
	}
	return out
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
