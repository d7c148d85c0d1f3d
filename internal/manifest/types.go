package manifest

// Pos is a 1-based line and column in the file.
type Pos struct {
	Line int
	Col  int
}

// File is a whole environments.bitesize file.
type File struct {
	// Name is the file name used in diagnostics.
	Name         string
	Project      string
	Environments []Environment

	// positions maps a field path (environments[0].services[1].replicas)
	// to where its value starts, so validation can point at it.
	positions positions
}

// positions is the decoder's record of where each value starts, kept as
// the maps the decoders that ran side by side filled (no path is in two).
type positions []map[string]Pos

func (ps positions) get(path string) (Pos, bool) {
	for _, m := range ps {
		if p, ok := m[path]; ok {
			return p, true
		}
	}
	return Pos{}, false
}

// has reports whether the file wrote a value at path.
func (ps positions) has(path string) bool {
	_, ok := ps.get(path)
	return ok
}

// Environment is one environment, bound to one namespace.
type Environment struct {
	Path         string
	Name         string
	Namespace    string
	Deployment   *Deployment
	Services     []Service
	Gists        []Gist
	Presets      []Preset
	Access       []Access
	NodeSelector map[string]string
	Tolerations  []Toleration
	DNS          *DNS
	// PodSecurity is the security level of the rendered pods: baseline
	// (the default) or restricted; see docs/security.md.
	PodSecurity string
	// GistsRepository, when set, is the repository the gists' files are
	// read from instead of the manifest's.
	GistsRepository *GistsRepository
}

// GistsRepository is a git repository, apart from the manifest's, that an
// environment's gists are read from (docs/manifest.md).
type GistsRepository struct {
	Path string
	// Remote is the repository's address, in a form --git-repo takes.
	Remote string
	// Branch is the branch read; empty means the remote's HEAD.
	Branch string
}

// Pod security levels of Environment.PodSecurity.
const (
	PodSecurityBaseline   = "baseline"
	PodSecurityRestricted = "restricted"
)

// Service is one entry of an environment's services.
type Service struct {
	Path        string
	Name        string
	Application string
	Version     string
	Image       string
	// Ports are the container ports. PortsSet records whether the file gave
	// port or ports at all: the original format defaults to port 80.
	Ports []int
	// portPaths are where each of Ports is written.
	portPaths []string
	PortsSet  bool
	Protocol  string
	Replicas  *int32
	Command   []string
	Args      []string
	Env       []EnvVar
	EnvFrom   []EnvFrom
	Requests  map[string]string
	Limits    map[string]string
	Volumes   []Volume
	HPA       *HPA

	ExternalURL  []string
	Backend      string
	BackendPort  int
	SSL          bool
	TLSSecret    string
	TLS          *TLS
	IngressClass string

	Annotations    map[string]string
	Labels         map[string]string
	LivenessProbe  *Probe
	ReadinessProbe *Probe
	StartupProbe   *Probe
	HealthCheck    *HealthCheck
	InitContainers []Container
	Deployment     *Deployment

	Kind         string
	Schedule     string
	Presets      []string
	NodeSelector map[string]string
	Tolerations  []Toleration
	DNS          *DNS
	Runtime      string

	// Adopt lets envop take over existing objects of this service's names
	// that it did not create (see docs/security.md).
	Adopt bool
	// AutomountServiceAccountToken mounts the pods' ServiceAccount token:
	// only services that call the Kubernetes API need it.
	AutomountServiceAccountToken bool

	// Type, Options and APIVersion describe a legacy custom resource.
	Type       string
	Options    map[string]any
	APIVersion string

	// Legacy ingress switches of the original format, nil when not
	// written: labels on the Ingress for the original's own controller.
	HTTPSOnly    *bool
	HTTPSBackend *bool
	HTTP2        *bool
	GracePeriod  *int64
	DatabaseType string

	// ServiceMesh is service_mesh: enable also routes external_url through
	// the Istio ingress gateway (docs/manifest.md).
	ServiceMesh string
	// Helm and Entry are the fields of type: HelmChart and type:
	// ServiceEntry services.
	Helm  HelmChartSpec
	Entry ServiceEntrySpec
	// Namespace, when written, repeats the environment's namespace: a
	// service lives where its environment's operator runs.
	Namespace string
}

// EnvVar is one container environment variable. Exactly one of Value,
// PodField, Secret and ConfigMap is its source.
type EnvVar struct {
	Path      string
	Name      string
	Value     string
	HasValue  bool
	PodField  string
	Secret    string
	ConfigMap string
	Key       string
	// Inverted marks the original's {secret: VAR, value: "name[/key]"} form,
	// already rewritten into Name, Secret and Key.
	Inverted bool
}

// EnvFrom imports every key of a Secret or ConfigMap.
type EnvFrom struct {
	Path      string
	Secret    string
	ConfigMap string
	Prefix    string
}

// Volume is a mount: a Secret, a ConfigMap or a claim.
type Volume struct {
	Path         string
	Name         string
	MountPath    string
	Size         string
	Modes        []string
	Type         string
	StorageClass string
	Items        []KeyToPath
	ItemsKey     string // items, or the original's item
	Provisioning string
	ReadOnly     bool
}

// KeyToPath projects one key of a Secret or ConfigMap volume to a file.
type KeyToPath struct {
	Path     string
	Key      string
	FilePath string
	Mode     *int32
}

// HPA is a horizontal pod autoscaler.
type HPA struct {
	Path        string
	MinReplicas int32
	MaxReplicas int32
	Metric      *Metric
}

// Metric is what the autoscaler tracks.
type Metric struct {
	Path                     string
	Name                     string
	TargetAverageUtilization int32
	TargetAverageValue       string
	// UtilizationPath is where the utilization target is written:
	// target_average_utilization, or the original's
	// target_cpu_utilization_percentage shorthand.
	UtilizationPath string
}

// DefaultHPATarget is the CPU utilization target of an hpa that names no
// metric, as in the original.
const DefaultHPATarget = 80

// TLS says where an Ingress certificate comes from. Exactly one is set.
type TLS struct {
	Path          string
	ClusterIssuer string
	Issuer        string
	Vault         string
}

// Probe is a container probe in the original handler form.
type Probe struct {
	Path                string
	HTTPGet             *HTTPGet
	TCPSocket           *TCPSocket
	Exec                []string
	InitialDelaySeconds int32
	TimeoutSeconds      int32
	PeriodSeconds       int32
	SuccessThreshold    int32
	FailureThreshold    int32
}

// HTTPGet probes an HTTP endpoint.
type HTTPGet struct {
	Path    string
	URLPath string
	Port    PortRef
	Host    string
	Scheme  string
	Headers []NameValue
}

// TCPSocket probes a TCP port.
type TCPSocket struct {
	Path string
	Port PortRef
	Host string
}

// PortRef is a port given by number or by name.
type PortRef struct {
	Number int
	Name   string
}

// NameValue is a name and a value, as in HTTP headers.
type NameValue struct {
	Name  string
	Value string
}

// HealthCheck is the original's liveness check: a command with timings.
type HealthCheck struct {
	Path         string
	Command      []string
	InitialDelay int32
	Timeout      int32
}

// Container is an init container.
type Container struct {
	Path        string
	Name        string
	Application string
	Version     string
	Image       string
	Command     []string
	Args        []string
	Env         []EnvVar
	Volumes     []Volume
}

// Deployment is how a service rolls out.
type Deployment struct {
	Path       string
	Method     string
	Active     string
	Mode       string
	CustomURLs map[string][]string
}

// Gist is a ConfigMap built from files in the repository: Source is a
// ConfigMap manifest file, Files are files or folders whose contents become
// keys.
type Gist struct {
	Path   string
	Name   string
	Type   string // the original's `type`; only configmap
	Source string
	Files  []string
}

// Preset is a named bundle merged into the pods of the services that select
// it by name or by labels.
type Preset struct {
	Path           string
	Name           string
	Selector       map[string]string
	Env            []EnvVar
	EnvFrom        []EnvFrom
	Volumes        []Volume
	Annotations    map[string]string
	InitContainers []Container
}

// Access grants a group or a user a role in the namespace. Services, when
// set, confines the role to those services on the HTTP API; such an entry
// renders no Kubernetes binding (docs/manifest.md).
type Access struct {
	Path     string
	Group    string
	User     string
	Role     string
	Services []string
}

// EveryService reports whether a covers every service: no `services`, or
// `services: ["*"]`.
func (a Access) EveryService() bool {
	return a.Services == nil || len(a.Services) == 1 && a.Services[0] == "*"
}

// Toleration lets pods run on tainted nodes.
type Toleration struct {
	Path              string
	Key               string
	Operator          string
	Value             string
	Effect            string
	TolerationSeconds *int64
}

// DNS tunes the pod resolver.
type DNS struct {
	Path  string
	Ndots *int
}

// Environment returns the environment with the given name, or nil.
func (f *File) Environment(name string) *Environment {
	for i := range f.Environments {
		if f.Environments[i].Name == name {
			return &f.Environments[i]
		}
	}
	return nil
}

// Service returns the service with the given name, or nil.
func (e *Environment) Service(name string) *Service {
	for i := range e.Services {
		if e.Services[i].Name == name {
			return &e.Services[i]
		}
	}
	return nil
}
