package operator

import (
	"slices"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/envop/envop/internal/apply"
	"github.com/envop/envop/internal/health"
)

// TestRequiredRules: the Role holds every right the applier, the health
// monitor and the operator itself need, and none of the rights that get
// around RBAC (creating a Role is allowed only with every right it
// grants, which is what keeps the operator from granting more).
func TestRequiredRules(t *testing.T) {
	got := map[string][]string{}
	for _, r := range RequiredRules() {
		if len(r.APIGroups) != 1 || len(r.Resources) != 1 || !slices.IsSorted(r.Verbs) {
			t.Errorf("rule not merged: %+v", r)
		}
		for _, v := range r.Verbs {
			if v == "escalate" || v == "bind" || v == "impersonate" || strings.Contains(v+r.Resources[0]+r.APIGroups[0], "*") {
				t.Errorf("dangerous right: %+v", r)
			}
		}
		got[r.APIGroups[0]+"/"+r.Resources[0]] = r.Verbs
	}
	for _, set := range [][]rbacv1.PolicyRule{apply.RequiredRules, health.RequiredRules, ownRules} {
		for _, r := range set {
			for _, g := range r.APIGroups {
				for _, res := range r.Resources {
					for _, v := range r.Verbs {
						if !slices.Contains(got[g+"/"+res], v) {
							t.Errorf("%s on %s/%s missing", v, g, res)
						}
					}
				}
			}
		}
	}
}
