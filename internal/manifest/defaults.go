package manifest

import (
	"sort"
	"strconv"
	"strings"
)

// Kinds of workload a service can be.
const (
	KindDeployment  = "deployment"
	KindStatefulSet = "statefulset"
	KindJob         = "job"
	KindCronJob     = "cronjob"
)

// Deployment methods and blue/green colours.
const (
	MethodRollingUpgrade = "rolling-upgrade"
	MethodBlueGreen      = "bluegreen"
	ColourBlue           = "blue"
	ColourGreen          = "green"
)

// Volume types that mount an existing object rather than a claim.
const (
	VolumeSecret    = "secret"
	VolumeConfigMap = "configmap"
)

// ProvisioningManual binds an existing claim instead of creating one.
const ProvisioningManual = "manual"

// DefaultPort is the port the original format gave services that named none.
const DefaultPort = 80

// WorkloadKind is the service's kind, deployment when the file names none.
func (s *Service) WorkloadKind() string {
	if s.Kind == "" {
		return KindDeployment
	}
	return s.Kind
}

// IsCustomResource reports whether the service is a legacy `type` resource
// rather than a workload.
func (s *Service) IsCustomResource() bool { return s.Type != "" }

// Method is the deployment method: the service's, else the environment's,
// else rolling-upgrade.
func (s *Service) Method(env *Environment) string {
	if s.Deployment != nil && s.Deployment.Method != "" {
		return s.Deployment.Method
	}
	if env != nil && env.Deployment != nil && env.Deployment.Method != "" && s.WorkloadKind() == KindDeployment {
		return env.Deployment.Method
	}
	return MethodRollingUpgrade
}

// EnvColour is the variable that tells a blue/green pod its colour, as the
// original operator set it; the file may not set it itself.
const EnvColour = "POD_DEPLOYMENT_COLOUR"

// IsBlueGreen reports whether the service runs as blue and green colours.
func (s *Service) IsBlueGreen(env *Environment) bool {
	return !s.IsCustomResource() && s.Method(env) == MethodBlueGreen
}

// ActiveColour is the colour the file says takes traffic (blue by default).
func (s *Service) ActiveColour(env *Environment) string {
	if s.Deployment != nil && s.Deployment.Active != "" {
		return s.Deployment.Active
	}
	if env != nil && env.Deployment != nil && env.Deployment.Active != "" {
		return env.Deployment.Active
	}
	return ColourBlue
}

// ServicePorts are the ports the service exposes: as written, or port 80 for
// a deployment or statefulset that names none, as the original did. An
// explicit empty list (ports: []) means no ports.
func (s *Service) ServicePorts() []int {
	if s.PortsSet || s.IsCustomResource() {
		return s.Ports
	}
	switch s.WorkloadKind() {
	case KindDeployment, KindStatefulSet:
		return []int{DefaultPort}
	}
	return nil
}

// PortName names a container and Service port: tcp-<port> with
// protocol tcp, else http-<port>.
func (s *Service) PortName(p int) string {
	if strings.EqualFold(s.Protocol, "tcp") {
		return "tcp-" + strconv.Itoa(p)
	}
	return "http-" + strconv.Itoa(p)
}

// Min is the HPA's least replica count: min_replicas, 1 when absent (as in
// Kubernetes).
func (h *HPA) Min() int32 {
	if h.MinReplicas < 1 {
		return 1
	}
	return h.MinReplicas
}

// IsClaim reports whether the volume is a PersistentVolumeClaim.
func (v *Volume) IsClaim() bool {
	return v.Type != VolumeSecret && v.Type != VolumeConfigMap && v.Type != "config_map"
}

// IsConfigMap reports whether the volume mounts a ConfigMap.
func (v *Volume) IsConfigMap() bool { return v.Type == VolumeConfigMap || v.Type == "config_map" }

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// PresetsOf returns the presets merged into s: those it names, in order,
// then those whose selector matches its labels.
func (e *Environment) PresetsOf(s *Service) []*Preset {
	var out []*Preset
	seen := map[string]bool{}
	for _, name := range s.Presets {
		for i := range e.Presets {
			if p := &e.Presets[i]; p.Name == name && !seen[name] {
				seen[name] = true
				out = append(out, p)
			}
		}
	}
	for i := range e.Presets {
		p := &e.Presets[i]
		if !seen[p.Name] && selects(p.Selector, s.Labels) {
			seen[p.Name] = true
			out = append(out, p)
		}
	}
	return out
}

// selects reports whether a non-empty selector matches labels.
func selects(selector, labels map[string]string) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if got, ok := labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// CustomResourceAPIVersion is the group/version a legacy `type` service
// names: api_version, else options.api_version as the original read it;
// empty for the default.
func (s *Service) CustomResourceAPIVersion() string {
	if s.APIVersion != "" {
		return s.APIVersion
	}
	if v, ok := s.Options["api_version"].(string); ok {
		return v
	}
	return ""
}
