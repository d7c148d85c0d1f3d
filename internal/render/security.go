package render

import (
	corev1 "k8s.io/api/core/v1"

	"github.com/envop/envop/internal/manifest"
)

// secure gives a pod the security settings of its environment's level
// (docs/manifest.md, "What renders"). Every level mounts no ServiceAccount
// token unless the service asks for one (most never call the API, and a
// token is a credential an intruder can use), confines system calls to the
// runtime's default seccomp profile and forbids privilege escalation; these
// cost a well-behaved container nothing. restricted also demands a non-root
// user and drops every capability, so a namespace enforcing the
// "restricted" Pod Security Standard admits the pod.
func secure(spec *corev1.PodSpec, s *manifest.Service, level string) {
	restricted := level == manifest.PodSecurityRestricted
	spec.AutomountServiceAccountToken = new(s.AutomountServiceAccountToken)
	spec.SecurityContext = &corev1.PodSecurityContext{
		SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
	if restricted {
		spec.SecurityContext.RunAsNonRoot = new(true)
	}
	for i := range spec.InitContainers {
		spec.InitContainers[i].SecurityContext = containerSecurity(restricted)
	}
	for i := range spec.Containers {
		spec.Containers[i].SecurityContext = containerSecurity(restricted)
	}
}

// containerSecurity is a fresh context per container, so that no two
// containers share one the caller might change.
func containerSecurity(restricted bool) *corev1.SecurityContext {
	sc := &corev1.SecurityContext{AllowPrivilegeEscalation: new(false)}
	if restricted {
		sc.Capabilities = &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}
	}
	return sc
}
