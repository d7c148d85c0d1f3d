package install

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/envop/envop/internal/manifest"
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
	// `TOKEN [NAME [ROLE]]`.
	TokenKey = "tokens"
	// GitSecret holds repository credentials as environment variables
	// (GIT_USER, GIT_TOKEN, GIT_PRIVATE_KEY, GIT_KNOWN_HOSTS); optional.
	GitSecret = "envop-git"
	// Port is the HTTP port of the API, probes and metrics.
	Port = 8080
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
	// Access adds the Role and RoleBinding an environment with `access`
	// entries needs (see AccessObjects).
	Access bool
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
	if strings.ContainsAny(o.Image, " \t\n") {
		errs = append(errs, fmt.Errorf("--image %q: no whitespace allowed", o.Image))
	}
	if err := checkRules(o.Rules); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// checkRules refuses what a least-privilege Role must never hold: no rules,
// wildcards, or rules that are not about namespaced resources.
func checkRules(rules []rbacv1.PolicyRule) error {
	if len(rules) == 0 {
		return errors.New("no rules for the Role")
	}
	for i, r := range rules {
		all := slices.Concat(r.APIGroups, r.Resources, r.Verbs, r.ResourceNames)
		if slices.Contains(all, rbacv1.VerbAll) || slices.ContainsFunc(r.Resources, func(s string) bool { return strings.Contains(s, "*") }) {
			return fmt.Errorf("rule %d: wildcards are not allowed", i)
		}
		if len(r.NonResourceURLs) > 0 || len(r.Resources) == 0 || len(r.Verbs) == 0 {
			return fmt.Errorf("rule %d: want resources and verbs, no non-resource URLs", i)
		}
	}
	return nil
}

// Objects returns the manifests in apply order: ServiceAccount, Role,
// RoleBinding, the access Role and RoleBinding when asked, Deployment,
// Service.
func Objects(o Options) ([]runtime.Object, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if o.Image == "" {
		o.Image = DefaultImage()
	}
	objs := []runtime.Object{serviceAccount(o), role(o), roleBinding(o)}
	if o.Access {
		objs = append(objs, AccessObjects(o.Namespace)...)
	}
	return append(objs, deployment(o), service(o)), nil
}

// AccessName names the Role and RoleBinding of AccessObjects.
const AccessName = Name + "-access"

// AccessObjects are the Role and RoleBinding that let the operator create
// and bind the Roles of `access`. Kubernetes lets a Role be created or bound
// only by someone holding every right it grants, or holding escalate and
// bind on it; the `access` Roles grant more than the operator's own Role,
// so this Role gives escalate and bind on exactly those Role names. It lets
// the operator grant up to namespace admin, which is what `access` asks for:
// install it only for environments that use `access`. An empty namespace
// leaves it to kustomize (deploy/components/access).
func AccessObjects(namespace string) []runtime.Object {
	var names []string
	for _, r := range manifest.AccessRoles {
		names = append(names, render.AccessRoleName(r))
	}
	meta := metav1.ObjectMeta{Name: AccessName, Namespace: namespace, Labels: labels()}
	return []runtime.Object{
		&rbacv1.Role{
			TypeMeta:   metav1.TypeMeta{APIVersion: rbacv1.SchemeGroupVersion.String(), Kind: "Role"},
			ObjectMeta: meta,
			Rules: []rbacv1.PolicyRule{{
				APIGroups: []string{rbacv1.GroupName}, Resources: []string{"roles"},
				ResourceNames: names, Verbs: []string{"escalate", "bind"},
			}},
		},
		&rbacv1.RoleBinding{
			TypeMeta:   metav1.TypeMeta{APIVersion: rbacv1.SchemeGroupVersion.String(), Kind: "RoleBinding"},
			ObjectMeta: meta,
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: AccessName},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: Name, Namespace: namespace}},
		},
	}
}
