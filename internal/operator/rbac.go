package operator

import (
	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/envop/envop/internal/apply"
	"github.com/envop/envop/internal/audit"
	"github.com/envop/envop/internal/health"
	"github.com/envop/envop/internal/rbac"
)

// ownRules are what the operator needs beyond applying, watching and its
// audit: its state ConfigMaps, Events, its own Pod (to attach Events to), pod logs
// (for the API's pod view) and the leader-election Lease.
var ownRules = []rbacv1.PolicyRule{
	{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get", "list", "create", "update"}},
	{APIGroups: []string{""}, Resources: []string{"events"}, Verbs: []string{"create", "patch"}},
	{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get"}},
	{APIGroups: []string{""}, Resources: []string{"pods/log"}, Verbs: []string{"get"}},
	// The Lease of --leader-elect.
	{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}, Verbs: []string{"get", "create", "update"}},
}

// RequiredRules are every namespaced rule the operator needs, merged by API
// group and resource: the Role `envop install` and the demo grant. An
// environment with `access` also needs render.AccessRules (docs/install.md).
func RequiredRules() []rbacv1.PolicyRule {
	return rbac.Merge(apply.RequiredRules, health.RequiredRules, audit.RequiredRules, ownRules)
}

// IstioRules and HelmChartRules are what the operator needs besides
// RequiredRules for the Istio kinds of service_mesh and type: ServiceEntry,
// and for the HelmChart of type: HelmChart (`envop install --istio`,
// `--helm-charts`; docs/install.md).
func IstioRules() []rbacv1.PolicyRule     { return rbac.Merge(apply.IstioRules) }
func HelmChartRules() []rbacv1.PolicyRule { return rbac.Merge(apply.HelmChartRules) }
