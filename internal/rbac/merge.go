package rbac

import (
	"slices"

	rbacv1 "k8s.io/api/rbac/v1"
)

// Merge joins rule sets into one rule per API group and resource, in the
// order each pair first appears, with the union of its verbs sorted: one
// line per right, easy to review in a diff. Resource names and non-resource
// URLs have no place in a namespaced Role of envop and are not expected.
func Merge(sets ...[]rbacv1.PolicyRule) []rbacv1.PolicyRule {
	type key struct{ group, resource string }
	verbs := map[key][]string{}
	var order []key
	for _, set := range sets {
		for _, r := range set {
			for _, g := range r.APIGroups {
				for _, res := range r.Resources {
					k := key{g, res}
					if _, ok := verbs[k]; !ok {
						order = append(order, k)
					}
					verbs[k] = append(verbs[k], r.Verbs...)
				}
			}
		}
	}
	out := make([]rbacv1.PolicyRule, 0, len(order))
	for _, k := range order {
		v := slices.Clone(verbs[k])
		slices.Sort(v)
		out = append(out, rbacv1.PolicyRule{APIGroups: []string{k.group}, Resources: []string{k.resource}, Verbs: slices.Compact(v)})
	}
	return out
}
