package render

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Options are the settings rendering needs from outside the file.
type Options struct {
	// Registry and Project prefix image names: REGISTRY/PROJECT/app:version.
	Registry string
	Project  string
	// Namespace is used when the environment names none.
	Namespace   string
	PullSecrets []string
	// DefaultLimits and DefaultRequests apply per resource the service does
	// not set; nil means DefaultLimits() and DefaultRequests().
	DefaultLimits   map[string]string
	DefaultRequests map[string]string
	IngressClass    string
	// StorageClasses maps a volume type (ebs, efs, ...) to a storage class.
	StorageClasses map[string]string
	// Files holds gist contents by the slash-separated path the gist
	// names (a file inside a folder it names by that path plus the rest);
	// manifest.ReadGistFiles fills it.
	Files map[string][]byte
	// Versions overrides versions by workload name: the operator passes the
	// versions deployed through its API. Blue/green keys are NAME-blue and
	// NAME-green.
	Versions map[string]string
	// Active overrides the active colour of blue/green services (promotion).
	Active map[string]string
	// Selectors are the pod selectors of workloads that keep the one they
	// were created with, by workload name: those taken over from the
	// original Environment Operator (docs/migrating.md). Their pods carry
	// those labels beside envop's, and their Services select by them.
	Selectors map[string]map[string]string
	// OIDCGroupsPrefix prefixes the groups of `access` in the RoleBindings:
	// the API server's --oidc-groups-prefix, so that `group: devs` binds the
	// group the API server sees, e.g. "oidc:devs". Users are left as given.
	OIDCGroupsPrefix string
}

// CheckRegistry refuses a registry given as a URL: an image reference never
// has a scheme, so images rendered with one could not be pulled. The error
// says what to give instead; callers name where the value came from.
func CheckRegistry(registry string) error {
	if _, rest, ok := strings.Cut(registry, "://"); ok {
		return fmt.Errorf("an image registry has no scheme: give %s", strings.TrimSuffix(rest, "/"))
	}
	return nil
}

// DefaultLimits are the container limits of services that set none
// (docs/manifest.md).
func DefaultLimits() map[string]string {
	return map[string]string{"cpu": "1000m", "memory": "2048Mi"}
}

// DefaultRequests are the container requests of services that set none
// (docs/manifest.md).
func DefaultRequests() map[string]string {
	return map[string]string{"cpu": "100m"}
}

// Result is what rendering produced.
type Result struct {
	// Objects in apply order (see KindOrder).
	Objects []*unstructured.Unstructured
	// Skipped lists workloads not rendered and why.
	Skipped []Skipped
}

// Skipped is a workload left out of the render.
type Skipped struct {
	Service  string `json:"service"`
	Workload string `json:"workload"`
	Reason   string `json:"reason"`
}
