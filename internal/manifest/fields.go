package manifest

import (
	"math"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// The field tables below are the schema of the file: every key the loader
// accepts, per object. schema/environments.schema.json is tested against them.

var fileFields = fieldTable[File]{
	"project": func(d *decoder, n *yaml.Node, p string, f *File) { f.Project = d.str(n, p) },
	"environments": func(d *decoder, n *yaml.Node, p string, f *File) {
		d.list(n, p, func(item *yaml.Node, ip string) {
			e := Environment{Path: ip}
			decodeStruct(d, item, ip, &e, environmentFields)
			f.Environments = append(f.Environments, e)
		})
	},
}

var environmentFields = fieldTable[Environment]{
	"name":      func(d *decoder, n *yaml.Node, p string, e *Environment) { e.Name = d.str(n, p) },
	"namespace": func(d *decoder, n *yaml.Node, p string, e *Environment) { e.Namespace = d.str(n, p) },
	"deployment": func(d *decoder, n *yaml.Node, p string, e *Environment) {
		e.Deployment = decodeDeployment(d, n, p)
	},
	"services": func(d *decoder, n *yaml.Node, p string, e *Environment) {
		e.Services = parallelList(d, n, p, func(d *decoder, item *yaml.Node, ip string) Service {
			s := Service{Path: ip}
			decodeStruct(d, item, ip, &s, serviceFields)
			return s
		})
	},
	"gists": func(d *decoder, n *yaml.Node, p string, e *Environment) {
		d.list(n, p, func(item *yaml.Node, ip string) {
			g := Gist{Path: ip}
			decodeStruct(d, item, ip, &g, gistFields)
			e.Gists = append(e.Gists, g)
		})
	},
	"presets": func(d *decoder, n *yaml.Node, p string, e *Environment) {
		d.list(n, p, func(item *yaml.Node, ip string) {
			ps := Preset{Path: ip}
			decodeStruct(d, item, ip, &ps, presetFields)
			e.Presets = append(e.Presets, ps)
		})
	},
	"access": func(d *decoder, n *yaml.Node, p string, e *Environment) {
		d.list(n, p, func(item *yaml.Node, ip string) {
			a := Access{Path: ip}
			decodeStruct(d, item, ip, &a, accessFields)
			e.Access = append(e.Access, a)
		})
	},
	"node_selector": func(d *decoder, n *yaml.Node, p string, e *Environment) { e.NodeSelector = d.strMap(n, p) },
	"tolerations":   func(d *decoder, n *yaml.Node, p string, e *Environment) { e.Tolerations = decodeTolerations(d, n, p) },
	"dns":           func(d *decoder, n *yaml.Node, p string, e *Environment) { e.DNS = decodeDNS(d, n, p) },
	"pod_security":  func(d *decoder, n *yaml.Node, p string, e *Environment) { e.PodSecurity = d.str(n, p) },
	// Accepted for compatibility with the original format, which ignored
	// it too: tests never ran.
	"tests": func(d *decoder, n *yaml.Node, p string, e *Environment) { d.skip(n) },
	"gists_repository": func(d *decoder, n *yaml.Node, p string, e *Environment) {
		e.GistsRepository = &GistsRepository{Path: p}
		decodeStruct(d, n, p, e.GistsRepository, gistsRepositoryFields)
	},
}

var serviceFields = fieldTable[Service]{
	"name":        func(d *decoder, n *yaml.Node, p string, s *Service) { s.Name = d.str(n, p) },
	"application": func(d *decoder, n *yaml.Node, p string, s *Service) { s.Application = d.str(n, p) },
	"version":     func(d *decoder, n *yaml.Node, p string, s *Service) { s.Version = d.str(n, p) },
	"image":       func(d *decoder, n *yaml.Node, p string, s *Service) { s.Image = d.str(n, p) },
	"port":        func(d *decoder, n *yaml.Node, p string, s *Service) { d.servicePorts(s, n, p) },
	"ports":       func(d *decoder, n *yaml.Node, p string, s *Service) { d.servicePorts(s, n, p) },
	"protocol":    func(d *decoder, n *yaml.Node, p string, s *Service) { s.Protocol = d.str(n, p) },
	"replicas":    func(d *decoder, n *yaml.Node, p string, s *Service) { s.Replicas = d.int32Ptr(n, p) },
	"command":     func(d *decoder, n *yaml.Node, p string, s *Service) { s.Command = d.strList(n, p) },
	"args":        func(d *decoder, n *yaml.Node, p string, s *Service) { s.Args = d.strList(n, p) },
	"env":         func(d *decoder, n *yaml.Node, p string, s *Service) { s.Env = decodeEnv(d, n, p) },
	"env_from":    func(d *decoder, n *yaml.Node, p string, s *Service) { s.EnvFrom = decodeEnvFrom(d, n, p) },
	"requests":    func(d *decoder, n *yaml.Node, p string, s *Service) { s.Requests = d.strMap(n, p) },
	"limits":      func(d *decoder, n *yaml.Node, p string, s *Service) { s.Limits = d.strMap(n, p) },
	"volumes":     func(d *decoder, n *yaml.Node, p string, s *Service) { s.Volumes = decodeVolumes(d, n, p) },
	"hpa": func(d *decoder, n *yaml.Node, p string, s *Service) {
		s.HPA = &HPA{Path: p}
		decodeStruct(d, n, p, s.HPA, hpaFields)
		s.HPA = d.noAutoscaler(s.HPA)
	},
	"external_url":  func(d *decoder, n *yaml.Node, p string, s *Service) { s.ExternalURL = d.hosts(n, p) },
	"backend":       func(d *decoder, n *yaml.Node, p string, s *Service) { s.Backend = d.str(n, p) },
	"backend_port":  func(d *decoder, n *yaml.Node, p string, s *Service) { s.BackendPort = d.port(n, p) },
	"ssl":           func(d *decoder, n *yaml.Node, p string, s *Service) { s.SSL = d.boolean(n, p) },
	"tls_secret":    func(d *decoder, n *yaml.Node, p string, s *Service) { s.TLSSecret = d.str(n, p) },
	"ingress_class": func(d *decoder, n *yaml.Node, p string, s *Service) { s.IngressClass = d.str(n, p) },
	"tls": func(d *decoder, n *yaml.Node, p string, s *Service) {
		s.TLS = &TLS{Path: p}
		decodeStruct(d, n, p, s.TLS, tlsFields)
	},
	"annotations":     func(d *decoder, n *yaml.Node, p string, s *Service) { s.Annotations = d.nameValueMap(n, p) },
	"labels":          func(d *decoder, n *yaml.Node, p string, s *Service) { s.Labels = d.strMap(n, p) },
	"liveness_probe":  func(d *decoder, n *yaml.Node, p string, s *Service) { s.LivenessProbe = decodeProbe(d, n, p) },
	"readiness_probe": func(d *decoder, n *yaml.Node, p string, s *Service) { s.ReadinessProbe = decodeProbe(d, n, p) },
	"startup_probe":   func(d *decoder, n *yaml.Node, p string, s *Service) { s.StartupProbe = decodeProbe(d, n, p) },
	"health_check": func(d *decoder, n *yaml.Node, p string, s *Service) {
		s.HealthCheck = &HealthCheck{Path: p}
		decodeStruct(d, n, p, s.HealthCheck, healthCheckFields)
	},
	"init_containers": func(d *decoder, n *yaml.Node, p string, s *Service) { s.InitContainers = decodeContainers(d, n, p) },
	"deployment":      func(d *decoder, n *yaml.Node, p string, s *Service) { s.Deployment = decodeDeployment(d, n, p) },
	"kind":            func(d *decoder, n *yaml.Node, p string, s *Service) { s.Kind = strings.ToLower(d.str(n, p)) },
	"schedule":        func(d *decoder, n *yaml.Node, p string, s *Service) { s.Schedule = d.str(n, p) },
	"presets":         func(d *decoder, n *yaml.Node, p string, s *Service) { s.Presets = d.strOrList(n, p) },
	"node_selector":   func(d *decoder, n *yaml.Node, p string, s *Service) { s.NodeSelector = d.strMap(n, p) },
	"tolerations":     func(d *decoder, n *yaml.Node, p string, s *Service) { s.Tolerations = decodeTolerations(d, n, p) },
	"dns":             func(d *decoder, n *yaml.Node, p string, s *Service) { s.DNS = decodeDNS(d, n, p) },
	"runtime":         func(d *decoder, n *yaml.Node, p string, s *Service) { s.Runtime = d.str(n, p) },
	"adopt":           func(d *decoder, n *yaml.Node, p string, s *Service) { s.Adopt = d.boolean(n, p) },
	"automount_service_account_token": func(d *decoder, n *yaml.Node, p string, s *Service) {
		s.AutomountServiceAccountToken = d.boolean(n, p)
	},
	"type":          func(d *decoder, n *yaml.Node, p string, s *Service) { s.Type = d.str(n, p) },
	"options":       func(d *decoder, n *yaml.Node, p string, s *Service) { s.Options = d.options(n, p) },
	"api_version":   func(d *decoder, n *yaml.Node, p string, s *Service) { s.APIVersion = d.str(n, p) },
	"httpsOnly":     func(d *decoder, n *yaml.Node, p string, s *Service) { s.HTTPSOnly = d.boolPtr(n, p) },
	"httpsBackend":  func(d *decoder, n *yaml.Node, p string, s *Service) { s.HTTPSBackend = d.boolPtr(n, p) },
	"http2":         func(d *decoder, n *yaml.Node, p string, s *Service) { s.HTTP2 = d.boolPtr(n, p) },
	"graceperiod":   func(d *decoder, n *yaml.Node, p string, s *Service) { s.GracePeriod = d.int64Ptr(n, p) },
	"database_type": func(d *decoder, n *yaml.Node, p string, s *Service) { s.DatabaseType = d.str(n, p) },
	// service_mesh, and the fields of type: HelmChart and type: ServiceEntry
	// (mesh.go).
	"service_mesh": func(d *decoder, n *yaml.Node, p string, s *Service) { s.ServiceMesh = d.str(n, p) },
	"chart":        func(d *decoder, n *yaml.Node, p string, s *Service) { s.Helm.Chart, s.Helm.Written = d.str(n, p), true },
	"repo":         func(d *decoder, n *yaml.Node, p string, s *Service) { s.Helm.Repo, s.Helm.Written = d.str(n, p), true },
	"target_namespace": func(d *decoder, n *yaml.Node, p string, s *Service) {
		s.Helm.TargetNamespace, s.Helm.Written = d.str(n, p), true
	},
	"values_content": func(d *decoder, n *yaml.Node, p string, s *Service) {
		s.Helm.ValuesContent, s.Helm.Written = d.str(n, p), true
	},
	"set": func(d *decoder, n *yaml.Node, p string, s *Service) {
		s.Helm.Set, s.Helm.Written = d.helmValues(n, p), true
	},
	"ignore": func(d *decoder, n *yaml.Node, p string, s *Service) {
		s.Helm.Ignore, s.Helm.Written = d.boolean(n, p), true
	},
	"hosts": func(d *decoder, n *yaml.Node, p string, s *Service) {
		s.Entry.Hosts, s.Entry.Written = d.strList(n, p), true
	},
	"addresses": func(d *decoder, n *yaml.Node, p string, s *Service) {
		s.Entry.Addresses, s.Entry.Written = d.strList(n, p), true
	},
	"location": func(d *decoder, n *yaml.Node, p string, s *Service) {
		s.Entry.Location, s.Entry.Written = d.str(n, p), true
	},
	"resolution": func(d *decoder, n *yaml.Node, p string, s *Service) {
		s.Entry.Resolution, s.Entry.Written = d.str(n, p), true
	},
	"service_entry_ports": func(d *decoder, n *yaml.Node, p string, s *Service) {
		s.Entry.Ports, s.Entry.Written = decodeEntryPorts(d, n, p), true
	},
	"endpoints": func(d *decoder, n *yaml.Node, p string, s *Service) {
		s.Entry.Endpoints, s.Entry.Written = decodeEndpoints(d, n, p), true
	},
	"export_to": func(d *decoder, n *yaml.Node, p string, s *Service) {
		s.Entry.ExportTo, s.Entry.Written = d.strList(n, p), true
	},
	// The original ignored a service's namespace; it may only repeat the environment's.
	"namespace": func(d *decoder, n *yaml.Node, p string, s *Service) { s.Namespace = d.str(n, p) },
}

// servicePorts records port or ports (p names which). When a service has
// both, ports wins and port is ignored, with a warning, as in the original.
func (d *decoder) servicePorts(s *Service, n *yaml.Node, p string) {
	ports := d.ports(n, p)
	list := strings.HasSuffix(p, ".ports")
	if s.PortsSet {
		single, ok := d.pos[parentPath(p)+".port"]
		if list {
			s.Ports, s.portPaths = nil, nil
		} else {
			single, ok = Pos{Line: n.Line, Col: n.Column}, true
		}
		if ok {
			d.diags = append(d.diags, Diagnostic{File: d.file, Line: single.Line, Col: single.Col, Path: parentPath(p) + ".port",
				Severity: SeverityWarning, Message: "is ignored: ports is set and lists the ports (as in the original)"})
		}
		if !list {
			return
		}
	}
	s.addPorts(ports, n, p)
}

// addPorts adds the ports written at p (n), each with the path it is
// reported at: its list item, or p for a single value or comma string.
func (s *Service) addPorts(ports []int, n *yaml.Node, p string) {
	s.PortsSet = true
	s.Ports = append(s.Ports, ports...)
	for i := range ports {
		ip := p
		if n.Kind == yaml.SequenceNode && len(n.Content) == len(ports) {
			ip = itemPath(p, i)
		}
		s.portPaths = append(s.portPaths, ip)
	}
}

var envFields = fieldTable[EnvVar]{
	"name": func(d *decoder, n *yaml.Node, p string, e *EnvVar) { e.Name = d.str(n, p) },
	"value": func(d *decoder, n *yaml.Node, p string, e *EnvVar) {
		e.Value, e.HasValue = d.str(n, p), true
	},
	"pod_field":  func(d *decoder, n *yaml.Node, p string, e *EnvVar) { e.PodField = d.str(n, p) },
	"secret":     func(d *decoder, n *yaml.Node, p string, e *EnvVar) { e.Secret = d.str(n, p) },
	"config_map": func(d *decoder, n *yaml.Node, p string, e *EnvVar) { e.ConfigMap = d.str(n, p) },
	"key":        func(d *decoder, n *yaml.Node, p string, e *EnvVar) { e.Key = d.str(n, p) },
}

var envFromFields = fieldTable[EnvFrom]{
	"secret":     func(d *decoder, n *yaml.Node, p string, e *EnvFrom) { e.Secret = d.str(n, p) },
	"config_map": func(d *decoder, n *yaml.Node, p string, e *EnvFrom) { e.ConfigMap = d.str(n, p) },
	"prefix":     func(d *decoder, n *yaml.Node, p string, e *EnvFrom) { e.Prefix = d.str(n, p) },
}

var volumeFields = fieldTable[Volume]{
	"name":          func(d *decoder, n *yaml.Node, p string, v *Volume) { v.Name = d.str(n, p) },
	"path":          func(d *decoder, n *yaml.Node, p string, v *Volume) { v.MountPath = d.str(n, p) },
	"size":          func(d *decoder, n *yaml.Node, p string, v *Volume) { v.Size = d.str(n, p) },
	"modes":         func(d *decoder, n *yaml.Node, p string, v *Volume) { v.Modes = d.modes(n, p) },
	"type":          func(d *decoder, n *yaml.Node, p string, v *Volume) { v.Type = strings.ToLower(d.str(n, p)) },
	"storage_class": func(d *decoder, n *yaml.Node, p string, v *Volume) { v.StorageClass = d.str(n, p) },
	"provisioning":  func(d *decoder, n *yaml.Node, p string, v *Volume) { v.Provisioning = d.str(n, p) },
	"read_only":     func(d *decoder, n *yaml.Node, p string, v *Volume) { v.ReadOnly = d.boolean(n, p) },
	"items":         volumeItems("items"),
	"item":          volumeItems("item"), // the original's name
}

// volumeItems decodes the projected keys of a secret or configmap volume,
// under either of their names, but not both.
func volumeItems(key string) func(d *decoder, n *yaml.Node, p string, v *Volume) {
	return func(d *decoder, n *yaml.Node, p string, v *Volume) {
		if v.ItemsKey != "" {
			d.errorf(n, p, "%s and %s are the same list: give one", v.ItemsKey, key)
			return
		}
		v.ItemsKey = key
		d.list(n, p, func(item *yaml.Node, ip string) {
			k := KeyToPath{Path: ip}
			decodeStruct(d, item, ip, &k, keyToPathFields)
			v.Items = append(v.Items, k)
		})
	}
}

var keyToPathFields = fieldTable[KeyToPath]{
	"key":  func(d *decoder, n *yaml.Node, p string, k *KeyToPath) { k.Key = d.str(n, p) },
	"path": func(d *decoder, n *yaml.Node, p string, k *KeyToPath) { k.FilePath = d.str(n, p) },
	"mode": func(d *decoder, n *yaml.Node, p string, k *KeyToPath) { k.Mode = d.int32Ptr(n, p) },
}

var hpaFields = fieldTable[HPA]{
	"min_replicas": func(d *decoder, n *yaml.Node, p string, h *HPA) { h.MinReplicas = d.int32(n, p) },
	"max_replicas": func(d *decoder, n *yaml.Node, p string, h *HPA) { h.MaxReplicas = d.int32(n, p) },
	"metric": func(d *decoder, n *yaml.Node, p string, h *HPA) {
		if h.Metric != nil {
			d.errorf(n, p, "metric and target_cpu_utilization_percentage both set the target: give one")
			return
		}
		h.Metric = &Metric{Path: p, UtilizationPath: joinPath(p, "target_average_utilization")}
		decodeStruct(d, n, p, h.Metric, metricFields)
	},
	// The original's documented shorthand for a CPU target.
	"target_cpu_utilization_percentage": func(d *decoder, n *yaml.Node, p string, h *HPA) {
		if h.Metric != nil {
			d.errorf(n, p, "metric and target_cpu_utilization_percentage both set the target: give one")
			return
		}
		h.Metric = &Metric{Path: p, Name: "cpu", TargetAverageUtilization: d.int32(n, p), UtilizationPath: p}
	},
}

var metricFields = fieldTable[Metric]{
	"name": func(d *decoder, n *yaml.Node, p string, m *Metric) { m.Name = d.str(n, p) },
	"target_average_utilization": func(d *decoder, n *yaml.Node, p string, m *Metric) {
		m.TargetAverageUtilization = d.int32(n, p)
	},
	"target_average_value": func(d *decoder, n *yaml.Node, p string, m *Metric) { m.TargetAverageValue = d.str(n, p) },
}

var tlsFields = fieldTable[TLS]{
	"cluster_issuer": func(d *decoder, n *yaml.Node, p string, t *TLS) { t.ClusterIssuer = d.str(n, p) },
	"issuer":         func(d *decoder, n *yaml.Node, p string, t *TLS) { t.Issuer = d.str(n, p) },
	"vault":          func(d *decoder, n *yaml.Node, p string, t *TLS) { t.Vault = d.str(n, p) },
}

var probeFields = fieldTable[Probe]{
	"http_get":   probeHTTPGet,
	"tcp_socket": probeTCPSocket,
	"exec":       probeExec,
	// The original nested the handler one level down.
	"handler":               func(d *decoder, n *yaml.Node, p string, pr *Probe) { decodeStruct(d, n, p, pr, handlerFields) },
	"initial_delay_seconds": func(d *decoder, n *yaml.Node, p string, pr *Probe) { pr.InitialDelaySeconds = d.int32(n, p) },
	"timeout_seconds":       func(d *decoder, n *yaml.Node, p string, pr *Probe) { pr.TimeoutSeconds = d.int32(n, p) },
	"period_seconds":        func(d *decoder, n *yaml.Node, p string, pr *Probe) { pr.PeriodSeconds = d.int32(n, p) },
	"success_threshold":     func(d *decoder, n *yaml.Node, p string, pr *Probe) { pr.SuccessThreshold = d.int32(n, p) },
	"failure_threshold":     func(d *decoder, n *yaml.Node, p string, pr *Probe) { pr.FailureThreshold = d.int32(n, p) },
}

var handlerFields = fieldTable[Probe]{
	"http_get":   probeHTTPGet,
	"tcp_socket": probeTCPSocket,
	"exec":       probeExec,
}

func probeHTTPGet(d *decoder, n *yaml.Node, p string, pr *Probe) {
	pr.HTTPGet = &HTTPGet{Path: p}
	decodeStruct(d, n, p, pr.HTTPGet, httpGetFields)
}

func probeTCPSocket(d *decoder, n *yaml.Node, p string, pr *Probe) {
	pr.TCPSocket = &TCPSocket{Path: p}
	decodeStruct(d, n, p, pr.TCPSocket, tcpSocketFields)
}

func probeExec(d *decoder, n *yaml.Node, p string, pr *Probe) {
	decodeStruct(d, n, p, pr, execFields)
	if pr.Exec == nil {
		pr.Exec = []string{}
	}
}

var execFields = fieldTable[Probe]{
	"command": func(d *decoder, n *yaml.Node, p string, pr *Probe) { pr.Exec = d.strList(n, p) },
}

var httpGetFields = fieldTable[HTTPGet]{
	"path":   func(d *decoder, n *yaml.Node, p string, h *HTTPGet) { h.URLPath = d.str(n, p) },
	"port":   func(d *decoder, n *yaml.Node, p string, h *HTTPGet) { h.Port = d.portRef(n, p) },
	"host":   func(d *decoder, n *yaml.Node, p string, h *HTTPGet) { h.Host = d.str(n, p) },
	"scheme": func(d *decoder, n *yaml.Node, p string, h *HTTPGet) { h.Scheme = d.str(n, p) },
	"http_headers": func(d *decoder, n *yaml.Node, p string, h *HTTPGet) {
		d.list(n, p, func(item *yaml.Node, ip string) {
			var nv NameValue
			decodeStruct(d, item, ip, &nv, nameValueFields)
			h.Headers = append(h.Headers, nv)
		})
	},
}

var tcpSocketFields = fieldTable[TCPSocket]{
	"port": func(d *decoder, n *yaml.Node, p string, t *TCPSocket) { t.Port = d.portRef(n, p) },
	"host": func(d *decoder, n *yaml.Node, p string, t *TCPSocket) { t.Host = d.str(n, p) },
}

var nameValueFields = fieldTable[NameValue]{
	"name":  func(d *decoder, n *yaml.Node, p string, nv *NameValue) { nv.Name = d.str(n, p) },
	"value": func(d *decoder, n *yaml.Node, p string, nv *NameValue) { nv.Value = d.str(n, p) },
}

var healthCheckFields = fieldTable[HealthCheck]{
	"command":       func(d *decoder, n *yaml.Node, p string, h *HealthCheck) { h.Command = d.strList(n, p) },
	"initial_delay": func(d *decoder, n *yaml.Node, p string, h *HealthCheck) { h.InitialDelay = d.int32(n, p) },
	"timeout":       func(d *decoder, n *yaml.Node, p string, h *HealthCheck) { h.Timeout = d.int32(n, p) },
}

var containerFields = fieldTable[Container]{
	"name":        func(d *decoder, n *yaml.Node, p string, c *Container) { c.Name = d.str(n, p) },
	"application": func(d *decoder, n *yaml.Node, p string, c *Container) { c.Application = d.str(n, p) },
	"version":     func(d *decoder, n *yaml.Node, p string, c *Container) { c.Version = d.str(n, p) },
	"image":       func(d *decoder, n *yaml.Node, p string, c *Container) { c.Image = d.str(n, p) },
	"command":     func(d *decoder, n *yaml.Node, p string, c *Container) { c.Command = d.strList(n, p) },
	"args":        func(d *decoder, n *yaml.Node, p string, c *Container) { c.Args = d.strList(n, p) },
	"env":         func(d *decoder, n *yaml.Node, p string, c *Container) { c.Env = decodeEnv(d, n, p) },
	"volumes":     func(d *decoder, n *yaml.Node, p string, c *Container) { c.Volumes = decodeVolumes(d, n, p) },
}

var deploymentFields = fieldTable[Deployment]{
	"method": func(d *decoder, n *yaml.Node, p string, dp *Deployment) { dp.Method = d.str(n, p) },
	"active": func(d *decoder, n *yaml.Node, p string, dp *Deployment) { dp.Active = d.str(n, p) },
	"mode":   func(d *decoder, n *yaml.Node, p string, dp *Deployment) { dp.Mode = d.str(n, p) },
	"custom_urls": func(d *decoder, n *yaml.Node, p string, dp *Deployment) {
		dp.CustomURLs = map[string][]string{}
		for _, pr := range d.pairs(n, p) {
			kp := keyPath(p, pr.key)
			d.record(kp, pr.value)
			dp.CustomURLs[pr.key] = d.hosts(pr.value, kp)
		}
	},
}

var gistFields = fieldTable[Gist]{
	"name":  func(d *decoder, n *yaml.Node, p string, g *Gist) { g.Name = d.str(n, p) },
	"type":  func(d *decoder, n *yaml.Node, p string, g *Gist) { g.Type = strings.ToLower(d.str(n, p)) },
	"path":  func(d *decoder, n *yaml.Node, p string, g *Gist) { g.Source = d.str(n, p) },
	"files": func(d *decoder, n *yaml.Node, p string, g *Gist) { g.Files = d.strOrList(n, p) },
}

var gistsRepositoryFields = fieldTable[GistsRepository]{
	"remote": func(d *decoder, n *yaml.Node, p string, r *GistsRepository) { r.Remote = d.str(n, p) },
	"branch": func(d *decoder, n *yaml.Node, p string, r *GistsRepository) { r.Branch = d.str(n, p) },
}

var presetFields = fieldTable[Preset]{
	"name":            func(d *decoder, n *yaml.Node, p string, ps *Preset) { ps.Name = d.str(n, p) },
	"selector":        func(d *decoder, n *yaml.Node, p string, ps *Preset) { ps.Selector = d.strMap(n, p) },
	"env":             func(d *decoder, n *yaml.Node, p string, ps *Preset) { ps.Env = decodeEnv(d, n, p) },
	"env_from":        func(d *decoder, n *yaml.Node, p string, ps *Preset) { ps.EnvFrom = decodeEnvFrom(d, n, p) },
	"volumes":         func(d *decoder, n *yaml.Node, p string, ps *Preset) { ps.Volumes = decodeVolumes(d, n, p) },
	"annotations":     func(d *decoder, n *yaml.Node, p string, ps *Preset) { ps.Annotations = d.nameValueMap(n, p) },
	"init_containers": func(d *decoder, n *yaml.Node, p string, ps *Preset) { ps.InitContainers = decodeContainers(d, n, p) },
}

var accessFields = fieldTable[Access]{
	"group": func(d *decoder, n *yaml.Node, p string, a *Access) { a.Group = d.str(n, p) },
	"user":  func(d *decoder, n *yaml.Node, p string, a *Access) { a.User = d.str(n, p) },
	"role":  func(d *decoder, n *yaml.Node, p string, a *Access) { a.Role = d.str(n, p) },
	"services": func(d *decoder, n *yaml.Node, p string, a *Access) {
		a.Services = d.strList(n, p)
		if a.Services == nil {
			a.Services = []string{} // written, and empty: an error, not "all"
		}
	},
}

var tolerationFields = fieldTable[Toleration]{
	"key":      func(d *decoder, n *yaml.Node, p string, t *Toleration) { t.Key = d.str(n, p) },
	"operator": func(d *decoder, n *yaml.Node, p string, t *Toleration) { t.Operator = d.str(n, p) },
	"value":    func(d *decoder, n *yaml.Node, p string, t *Toleration) { t.Value = d.str(n, p) },
	"effect":   func(d *decoder, n *yaml.Node, p string, t *Toleration) { t.Effect = d.str(n, p) },
	"toleration_seconds": func(d *decoder, n *yaml.Node, p string, t *Toleration) {
		t.TolerationSeconds = d.int64Ptr(n, p)
	},
}

var dnsFields = fieldTable[DNS]{
	"ndots": func(d *decoder, n *yaml.Node, p string, x *DNS) {
		if v, ok := d.integer(n, p, 0, 15); ok {
			i := int(v)
			x.Ndots = &i
		}
	},
}

func decodeDeployment(d *decoder, n *yaml.Node, p string) *Deployment {
	dp := &Deployment{Path: p}
	decodeStruct(d, n, p, dp, deploymentFields)
	return dp
}

func decodeDNS(d *decoder, n *yaml.Node, p string) *DNS {
	x := &DNS{Path: p}
	decodeStruct(d, n, p, x, dnsFields)
	return x
}

func decodeProbe(d *decoder, n *yaml.Node, p string) *Probe {
	pr := &Probe{Path: p}
	decodeStruct(d, n, p, pr, probeFields)
	return pr
}

func decodeTolerations(d *decoder, n *yaml.Node, p string) []Toleration {
	var out []Toleration
	d.list(n, p, func(item *yaml.Node, ip string) {
		t := Toleration{Path: ip}
		decodeStruct(d, item, ip, &t, tolerationFields)
		out = append(out, t)
	})
	return out
}

func decodeContainers(d *decoder, n *yaml.Node, p string) []Container {
	var out []Container
	d.list(n, p, func(item *yaml.Node, ip string) {
		c := Container{Path: ip}
		decodeStruct(d, item, ip, &c, containerFields)
		out = append(out, c)
	})
	return out
}

func decodeVolumes(d *decoder, n *yaml.Node, p string) []Volume {
	var out []Volume
	d.list(n, p, func(item *yaml.Node, ip string) {
		v := Volume{Path: ip}
		decodeStruct(d, item, ip, &v, volumeFields)
		out = append(out, v)
	})
	return out
}

func decodeEnvFrom(d *decoder, n *yaml.Node, p string) []EnvFrom {
	var out []EnvFrom
	d.list(n, p, func(item *yaml.Node, ip string) {
		e := EnvFrom{Path: ip}
		decodeStruct(d, item, ip, &e, envFromFields)
		out = append(out, e)
	})
	return out
}

func decodeEnv(d *decoder, n *yaml.Node, p string) []EnvVar {
	var out []EnvVar
	d.list(n, p, func(item *yaml.Node, ip string) {
		e := EnvVar{Path: ip}
		decodeStruct(d, item, ip, &e, envFields)
		out = append(out, invertLegacySecret(e))
	})
	return out
}

// invertLegacySecret rewrites the original's {secret: VAR, value:
// "secretName[/key]"} form, which names the variable with `secret` and the
// Secret with `value`; the key defaults to the Secret's name, as there.
func invertLegacySecret(e EnvVar) EnvVar {
	if e.Name != "" || e.Secret == "" || !e.HasValue {
		return e
	}
	secret, key, found := strings.Cut(e.Value, "/")
	if !found {
		key = secret
	}
	return EnvVar{Path: e.Path, Name: e.Secret, Secret: secret, Key: key, Inverted: true}
}

// ports accepts an integer, a list of integers, or the original's comma
// string "80,443".
func (d *decoder) ports(n *yaml.Node, p string) []int {
	r := d.resolve(n)
	if r == nil {
		return nil
	}
	if r.Kind == yaml.SequenceNode {
		var out []int
		d.list(r, p, func(item *yaml.Node, ip string) { out = append(out, d.port(item, ip)) })
		return out
	}
	if r.Kind == yaml.ScalarNode && r.Tag == "!!str" {
		return d.commaPorts(r, p)
	}
	return []int{d.port(r, p)}
}

func (d *decoder) commaPorts(n *yaml.Node, p string) []int {
	var out []int
	for _, f := range strings.Split(n.Value, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue // "80," or "80,,443": the original skipped empty entries
		}
		v, err := strconv.Atoi(f)
		if err != nil {
			d.errorf(n, p, "expected a port number or a comma-separated list of them, got %q", n.Value)
			return nil
		}
		out = append(out, v)
	}
	return out
}

// port decodes one port number; the range is checked by validation so the
// message is the same whatever form the port came in.
func (d *decoder) port(n *yaml.Node, p string) int {
	v, _ := d.integer(n, p, math.MinInt32, math.MaxInt32)
	return int(v)
}

func (d *decoder) portRef(n *yaml.Node, p string) PortRef {
	r := d.resolve(n)
	if r != nil && r.Kind == yaml.ScalarNode && r.Tag == "!!str" {
		return PortRef{Name: r.Value}
	}
	return PortRef{Number: d.port(r, p)}
}

// modes accepts one access mode, a comma-separated string or a list.
func (d *decoder) modes(n *yaml.Node, p string) []string {
	var out []string
	for _, m := range d.strOrList(n, p) {
		for _, f := range strings.Split(m, ",") {
			if f = strings.TrimSpace(f); f != "" {
				out = append(out, f)
			}
		}
	}
	return out
}

// options decodes a legacy custom resource's options. The original turned
// every scalar into a string; nested maps and lists are kept.
func (d *decoder) options(n *yaml.Node, p string) map[string]any {
	out := map[string]any{}
	for _, pr := range d.pairs(n, p) {
		kp := keyPath(p, pr.key)
		d.record(kp, pr.value)
		out[pr.key] = d.anyValue(pr.value, kp)
	}
	return out
}

func (d *decoder) anyValue(n *yaml.Node, p string) any {
	r := d.resolve(n)
	if r == nil {
		return nil
	}
	switch r.Kind {
	case yaml.MappingNode:
		return d.options(r, p)
	case yaml.SequenceNode:
		out := []any{}
		d.list(r, p, func(item *yaml.Node, ip string) { out = append(out, d.anyValue(item, ip)) })
		return out
	}
	if isNull(r) {
		return ""
	}
	return r.Value
}

// skip walks a value that is accepted and ignored, so its size still counts.
func (d *decoder) skip(n *yaml.Node) {
	r := d.resolve(n)
	if r == nil || d.depth >= maxDepth {
		return
	}
	d.depth++
	for _, c := range r.Content {
		d.skip(c)
	}
	d.depth--
}
