package install

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/envop/envop/internal/rbac"
	"github.com/envop/envop/internal/render"
	"github.com/envop/envop/internal/version"
)

// Names of what the manifests create and read. The Secrets are never part of
// the output: they hold credentials and are created by the user.
const (
	// Name names the ServiceAccount, Role, RoleBinding, Deployment and Service.
	Name = "envop"
	// ImageRepository is where released images are published.
	ImageRepository = "ghcr.io/envop/envop"
	// DefaultAuthTokenSecret holds the API tokens, key TokenKey.
	DefaultAuthTokenSecret = "envop-tokens"
	// TokenKey is the key of the token Secret: a line per token,
	// `TOKEN [NAME [ROLE [SERVICES]]]`.
	TokenKey = "tokens"
	// GitSecret holds repository credentials as environment variables
	// (GIT_USER, GIT_TOKEN, GIT_PRIVATE_KEY, GIT_KNOWN_HOSTS); optional.
	GitSecret = "envop-git"
	// Port is the HTTP port of the API and the probes, the one the Service
	// exposes; also of /metrics when Options.MetricsPort is 0.
	Port = 8080
	// DefaultMetricsPort is the pod's port for /metrics (named "metrics",
	// for a PodMonitor), left out of the Service.
	DefaultMetricsPort = 9090
	// UID is the numeric non-root user the image and the pod run as (the
	// distroless "nonroot" user).
	UID = 65532
)

// Options say what to install where.
type Options struct {
	Namespace   string
	Environment string
	GitRepo     string
	GitBranch   string
	// Image defaults to DefaultImage().
	Image string
	// AuthTokenSecret names the Secret holding the API tokens; empty mounts
	// none (API authentication then comes from OIDC flags added by the user).
	AuthTokenSecret string
	// Rules are the Role's rules: operator.RequiredRules(), passed in so that
	// this package stays free of the operator's I/O dependencies.
	Rules []rbacv1.PolicyRule
	// Access adds to the Role the rules of the Roles an environment with
	// `access` entries renders (see RoleRules).
	Access bool
	// Istio and HelmCharts add to the Role IstioRules, the rights on the
	// Istio kinds of service_mesh and type: ServiceEntry, and HelmChartRules,
	// on the HelmChart of type: HelmChart; both are passed in, like Rules
	// (apply.IstioRules, apply.HelmChartRules).
	Istio, HelmCharts          bool
	IstioRules, HelmChartRules []rbacv1.PolicyRule
	// MetricsPort, when set, is where the operator serves /metrics
	// (METRICS_LISTEN) instead of on Port: Prometheus scrapes the pod, and
	// the Service carries the API only.
	MetricsPort int32
}

// RoleRules are the rules of the operator's Role. Kubernetes lets a Role be
// created, or bound, only by someone who holds every right it grants (or
// holds escalate or bind, which would let the operator grant anything);
// so with Access the operator holds exactly the rights of the `access`
// Roles besides its own, and can grant nothing more.
func (o Options) RoleRules() []rbacv1.PolicyRule {
	rules := o.Rules
	if o.Istio {
		rules = rbac.Merge(rules, o.IstioRules)
	}
	if o.HelmCharts {
		rules = rbac.Merge(rules, o.HelmChartRules)
	}
	if o.Access {
		rules = rbac.Merge(rules, render.AccessRules())
	}
	return rules
}

// DefaultImage is the released image of this build's version.
func DefaultImage() string {
	return ImageRepository + ":" + version.Get().Version
}

// Validate reports every problem with the options at once.
func (o Options) Validate() error {
	var errs []error
	if o.Namespace == "" {
		errs = append(errs, errors.New("--namespace is required"))
	} else if msgs := validation.IsDNS1123Label(o.Namespace); len(msgs) > 0 {
		errs = append(errs, fmt.Errorf("--namespace %q: %s", o.Namespace, strings.Join(msgs, "; ")))
	}
	if o.AuthTokenSecret != "" {
		if msgs := validation.IsDNS1123Subdomain(o.AuthTokenSecret); len(msgs) > 0 {
			errs = append(errs, fmt.Errorf("--auth-token-secret %q: %s", o.AuthTokenSecret, strings.Join(msgs, "; ")))
		}
	}
	if o.MetricsPort != 0 && (o.MetricsPort < 1 || o.MetricsPort > 65535 || o.MetricsPort == Port) {
		errs = append(errs, fmt.Errorf("--metrics-port %d: want 1-65535 other than the API's %d, or 0 to serve metrics on the API's port", o.MetricsPort, Port))
	}
	if strings.ContainsAny(o.Image, " \t\n") {
		errs = append(errs, fmt.Errorf("--image %q: no whitespace allowed", o.Image))
	}
	if o.Istio && len(o.IstioRules) == 0 || o.HelmCharts && len(o.HelmChartRules) == 0 {
		errs = append(errs, errors.New("--istio and --helm-charts need their rules"))
	}
	if err := checkRules(o.RoleRules()); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// escalating are the verbs that get around RBAC's escalation prevention:
// a Role holding one lets the operator grant, or act with, rights it does
// not hold.
var escalating = []string{"escalate", "bind", "impersonate"}

// checkRules refuses what a least-privilege Role must never hold: no rules,
// wildcards, the escalating verbs, or rules that are not about namespaced
// resources.
func checkRules(rules []rbacv1.PolicyRule) error {
	if len(rules) == 0 {
		return errors.New("no rules for the Role")
	}
	for i, r := range rules {
		all := slices.Concat(r.APIGroups, r.Resources, r.Verbs, r.ResourceNames)
		if slices.Contains(all, rbacv1.VerbAll) || slices.ContainsFunc(r.Resources, func(s string) bool { return strings.Contains(s, "*") }) {
			return fmt.Errorf("rule %d: wildcards are not allowed", i)
		}
		if v := slices.IndexFunc(r.Verbs, func(v string) bool { return slices.Contains(escalating, v) }); v >= 0 {
			return fmt.Errorf("rule %d: %s is not allowed", i, r.Verbs[v])
		}
		if len(r.NonResourceURLs) > 0 || len(r.Resources) == 0 || len(r.Verbs) == 0 {
			return fmt.Errorf("rule %d: want resources and verbs, no non-resource URLs", i)
		}
	}
	return nil
}

// Objects returns the manifests in apply order: ServiceAccount, Role,
// RoleBinding, Deployment, Service.
func Objects(o Options) ([]runtime.Object, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if o.Image == "" {
		o.Image = DefaultImage()
	}
	return []runtime.Object{serviceAccount(o), role(o), roleBinding(o), deployment(o), service(o)}, nil
}

// accessPatch is the Role of Options with Access, without a namespace: a
// patch that gives an installed operator's Role the rights of the `access`
// Roles (deploy/components/access).
func accessPatch(o Options) (*rbacv1.Role, error) {
	o.Access, o.Istio, o.HelmCharts, o.Namespace = true, false, false, ""
	if err := checkRules(o.RoleRules()); err != nil {
		return nil, err
	}
	r := role(o)
	r.Labels = nil // the patch changes the rules only
	return r, nil
}
