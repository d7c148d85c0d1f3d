package render

import (
	"maps"
	"strings"

	"github.com/envop/envop/internal/manifest"
)

// Label keys on every rendered object. Pruning selects on LabelManagedBy and
// LabelEnvironment, so both are always set.
const (
	LabelName        = "app.kubernetes.io/name"
	LabelInstance    = "app.kubernetes.io/instance"
	LabelVersion     = "app.kubernetes.io/version"
	LabelPartOf      = "app.kubernetes.io/part-of"
	LabelManagedBy   = "app.kubernetes.io/managed-by"
	LabelEnvironment = "envop.io/environment"
	// LabelClaim marks PersistentVolumeClaims so pruning can spare them.
	LabelClaim = "envop.io/claim"
	// LabelAccess marks the Roles and RoleBindings rendered from access.
	LabelAccess = "envop.io/access"
	// LabelOperatorSecret, set to "true", marks a Secret of the operator's
	// installation that its Pod does not mount (one it reads another way):
	// no environment file may reference it. The Secrets the Pod mounts are
	// known without it.
	LabelOperatorSecret = "envop.io/operator-secret"
	// LabelComponent, with LabelName, marks the objects of the operator's
	// own installation (see InstallationLabels).
	LabelComponent = "app.kubernetes.io/component"
)

// InstallationLabels are the labels `envop install` puts on the
// operator's own objects; envop never takes an object carrying them over.
// They deliberately carry neither LabelManagedBy nor LabelEnvironment, so
// pruning never selects the operator, nor LabelInstance, which the health
// index reads to attribute pods to services.
func InstallationLabels() map[string]string {
	return map[string]string{LabelName: "envop", LabelComponent: "operator"}
}

// IsInstallation says whether labels mark an object of the installation.
func IsInstallation(labels map[string]string) bool {
	for k, v := range InstallationLabels() {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// ManagedBy is the value of LabelManagedBy.
const ManagedBy = "envop"

// Unversioned is the version label of objects that have no version: those
// of the environment itself (gists, access) and services not deployed yet.
const Unversioned = "unversioned"

// Annotations envop writes.
const (
	// AnnotationVaultPath on an Ingress names the Vault KV v2 entry the
	// operator copies into its TLS Secret.
	AnnotationVaultPath = "envop.io/vault-path"
	// AnnotationConfigHash on a pod template is the hash of the gists it
	// mounts, so a content change rolls the pods.
	AnnotationConfigHash = "envop.io/config-hash"
	// AnnotationContentHash on a gist ConfigMap is the hash of its data.
	AnnotationContentHash = "envop.io/content-hash"
)

// labels are the standard labels of an object.
func (r *renderer) labels(name, instance, version string) map[string]string {
	l := map[string]string{
		LabelName:        name,
		LabelInstance:    instance,
		LabelVersion:     labelVersion(version),
		LabelManagedBy:   ManagedBy,
		LabelEnvironment: r.env.Name,
	}
	if r.project != "" {
		l[LabelPartOf] = r.project
	}
	return l
}

// selector is what the pods of workload instance are selected by: never
// the version, because a Deployment's selector is immutable and versions
// change on every deploy; a workload taken over from the original
// Environment Operator keeps the selector it was created with.
func (r *renderer) selector(name, instance string) map[string]string {
	if kept, ok := r.opts.Selectors[instance]; ok {
		return maps.Clone(kept)
	}
	return map[string]string{LabelName: name, LabelInstance: instance}
}

// The annotations the original Environment Operator kept on a Service:
// how the service deploys, and for blue/green the colour that serves.
const (
	annotationOriginalMethod = "deployment_method"
	annotationOriginalActive = "deployment_active"
)

// originalAnnotations are the annotations the original Environment
// Operator kept on the Service called name, which selects the pods of
// workload instance: rendered while that workload is one taken over from
// it, so that tools reading them still see the truth; nil otherwise.
func (r *renderer) originalAnnotations(s *manifest.Service, instance, name string) map[string]string {
	if _, ok := r.opts.Selectors[instance]; !ok {
		return nil
	}
	ann := map[string]string{annotationOriginalMethod: s.Method(r.env)}
	if s.IsBlueGreen(r.env) && name == s.Name {
		ann[annotationOriginalActive] = strings.TrimPrefix(instance, s.Name+"-")
	}
	return ann
}

func labelVersion(v string) string {
	if v == "" || !validLabelValue(v) {
		return Unversioned
	}
	return v
}
