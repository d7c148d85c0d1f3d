package install

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/envop/envop/internal/render"
)

// Where the token Secret is mounted; AUTH_TOKEN_FILE points into it.
const (
	tokenDir = "/etc/envop/tokens"
	tmpDir   = "/tmp"
)

// labels are render.InstallationLabels (see why they carry what they do).
func labels() map[string]string { return render.InstallationLabels() }

func meta(o Options) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: Name, Namespace: o.Namespace, Labels: labels()}
}

func serviceAccount(o Options) *corev1.ServiceAccount {
	return &corev1.ServiceAccount{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ServiceAccount"},
		ObjectMeta: meta(o),
	}
}

func role(o Options) *rbacv1.Role {
	given := o.RoleRules()
	rules := make([]rbacv1.PolicyRule, len(given))
	for i, r := range given {
		rules[i] = *r.DeepCopy()
	}
	return &rbacv1.Role{
		TypeMeta:   metav1.TypeMeta{APIVersion: rbacv1.SchemeGroupVersion.String(), Kind: "Role"},
		ObjectMeta: meta(o),
		Rules:      rules,
	}
}

func roleBinding(o Options) *rbacv1.RoleBinding {
	return &rbacv1.RoleBinding{
		TypeMeta:   metav1.TypeMeta{APIVersion: rbacv1.SchemeGroupVersion.String(), Kind: "RoleBinding"},
		ObjectMeta: meta(o),
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: Name},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: Name, Namespace: o.Namespace}},
	}
}

func service(o Options) *corev1.Service {
	return &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: meta(o),
		Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceTypeClusterIP,
			Selector: labels(),
			Ports: []corev1.ServicePort{{
				Name: "http", Port: Port, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromString("http"),
			}},
		},
	}
}

// deployment runs one replica with the Recreate strategy: the operator has
// no leader election, so two must never apply at the same time, not even
// during an upgrade.
func deployment(o Options) *appsv1.Deployment {
	return &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: appsv1.SchemeGroupVersion.String(), Kind: "Deployment"},
		ObjectMeta: meta(o),
		Spec: appsv1.DeploymentSpec{
			Replicas:             ptr.To[int32](1),
			RevisionHistoryLimit: ptr.To[int32](3),
			Strategy:             appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType},
			Selector:             &metav1.LabelSelector{MatchLabels: labels()},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels()},
				Spec:       podSpec(o),
			},
		},
	}
}

func podSpec(o Options) corev1.PodSpec {
	return corev1.PodSpec{
		ServiceAccountName:           Name,
		AutomountServiceAccountToken: ptr.To(true),
		// The namespace holds the services the operator deploys; their
		// *_SERVICE_HOST variables are noise and could shadow settings.
		EnableServiceLinks: ptr.To(false),
		SecurityContext: &corev1.PodSecurityContext{
			RunAsNonRoot:   ptr.To(true),
			RunAsUser:      ptr.To[int64](UID),
			RunAsGroup:     ptr.To[int64](UID),
			FSGroup:        ptr.To[int64](UID),
			SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		},
		Containers: []corev1.Container{container(o)},
		Volumes:    volumes(o),
	}
}

func container(o Options) corev1.Container {
	return corev1.Container{
		Name:  Name,
		Image: o.Image,
		Args:  []string{"serve"},
		Ports: ports(o),
		Env:   env(o),
		EnvFrom: []corev1.EnvFromSource{{
			SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: GitSecret}, Optional: ptr.To(true)},
		}},
		Resources: corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("128Mi")},
			Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1"), corev1.ResourceMemory: resource.MustParse("512Mi")},
		},
		// The first clone and the informers' first list can take a while
		// on a large repository or namespace: the startup probe gives it two
		// minutes before liveness applies.
		StartupProbe:   probe("/healthz", 2, 60),
		LivenessProbe:  probe("/healthz", 10, 3),
		ReadinessProbe: probe("/readyz", 5, 3),
		SecurityContext: &corev1.SecurityContext{
			AllowPrivilegeEscalation: ptr.To(false),
			ReadOnlyRootFilesystem:   ptr.To(true),
			RunAsNonRoot:             ptr.To(true),
			Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		},
		VolumeMounts:             mounts(o),
		TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
	}
}

// ports are the API's and, with MetricsPort, the one Prometheus scrapes;
// the Service exposes only the API's.
func ports(o Options) []corev1.ContainerPort {
	p := []corev1.ContainerPort{{Name: "http", ContainerPort: Port, Protocol: corev1.ProtocolTCP}}
	if o.MetricsPort != 0 {
		p = append(p, corev1.ContainerPort{Name: "metrics", ContainerPort: o.MetricsPort, Protocol: corev1.ProtocolTCP})
	}
	return p
}

func probe(path string, period, failures int32) *corev1.Probe {
	return &corev1.Probe{
		ProbeHandler: corev1.ProbeHandler{
			HTTPGet: &corev1.HTTPGetAction{Path: path, Port: intstr.FromString("http"), Scheme: corev1.URISchemeHTTP},
		},
		PeriodSeconds:    period,
		TimeoutSeconds:   2,
		FailureThreshold: failures,
	}
}

// env names the settings with the original operator's variables, so that a
// kustomize overlay can patch them by name.
func env(o Options) []corev1.EnvVar {
	vars := []corev1.EnvVar{
		{Name: "NAMESPACE", ValueFrom: fieldRef("metadata.namespace")},
		{Name: "POD_NAME", ValueFrom: fieldRef("metadata.name")},
		{Name: "ENVIRONMENT_NAME", Value: o.Environment},
		{Name: "GIT_REMOTE_REPOSITORY", Value: o.GitRepo},
		{Name: "GIT_BRANCH", Value: o.GitBranch},
	}
	if o.AuthTokenSecret != "" {
		vars = append(vars, corev1.EnvVar{Name: "AUTH_TOKEN_FILE", Value: tokenDir + "/" + TokenKey})
	}
	if o.MetricsPort != 0 {
		vars = append(vars, corev1.EnvVar{Name: "METRICS_LISTEN", Value: fmt.Sprintf(":%d", o.MetricsPort)})
	}
	return vars
}

func fieldRef(path string) *corev1.EnvVarSource {
	return &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: path}}
}

func mounts(o Options) []corev1.VolumeMount {
	m := []corev1.VolumeMount{{Name: "tmp", MountPath: tmpDir}}
	if o.AuthTokenSecret != "" {
		m = append(m, corev1.VolumeMount{Name: "tokens", MountPath: tokenDir, ReadOnly: true})
	}
	return m
}

// volumes: a writable /tmp for the git checkout (the root filesystem is
// read-only) and the token Secret. The Secret is required: the operator
// refuses to start without its token file, and a pod waiting for a missing
// Secret says so in its events, where a crash loop would hide it.
func volumes(o Options) []corev1.Volume {
	v := []corev1.Volume{{
		Name:         "tmp",
		VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{SizeLimit: ptr.To(resource.MustParse("1Gi"))}},
	}}
	if o.AuthTokenSecret != "" {
		v = append(v, corev1.Volume{Name: "tokens", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
			SecretName:  o.AuthTokenSecret,
			Items:       []corev1.KeyToPath{{Key: TokenKey, Path: TokenKey}},
			DefaultMode: ptr.To[int32](0o440),
			Optional:    ptr.To(false),
		}}})
	}
	return v
}
