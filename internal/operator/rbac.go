package operator

import (
	"slices"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/envop/envop/internal/apply"
	"github.com/envop/envop/internal/health"
)

// ownRules are what the operator needs beyond applying and watching: its
// state ConfigMaps, Events, its own Pod (to attach Events to), pod logs
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
// group and resource: the Role `envop install` and the demo grant.
func RequiredRules() []rbacv1.PolicyRule {
	type key struct{ group, resource string }
	verbs := map[key][]string{}
	var order []key
	for _, set := range [][]rbacv1.PolicyRule{apply.RequiredRules, health.RequiredRules, ownRules} {
		for _, r := range set {
			for _, g := range r.APIGroups {
				for _, res := range r.Resources {
					k := key{g, res}
					if _, ok := verbs[k]; !ok {
						order = append(order, k)
					}
					for _, v := range r.Verbs {
						if !slices.Contains(verbs[k], v) {
							verbs[k] = append(verbs[k], v)
						}
					}
				}
			}
		}
	}
	out := make([]rbacv1.PolicyRule, 0, len(order))
	for _, k := range order {
		v := slices.Clone(verbs[k])
		slices.Sort(v)
		out = append(out, rbacv1.PolicyRule{APIGroups: []string{k.group}, Resources: []string{k.resource}, Verbs: v})
	}
	return out
}
