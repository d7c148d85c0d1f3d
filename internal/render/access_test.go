package render

import (
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/envop/envop/internal/manifest"
)

// rights flattens rules to "resource.group" → sorted verbs.
func rights(rules []rbacv1.PolicyRule) map[string][]string {
	out := map[string][]string{}
	for _, r := range rules {
		for _, g := range r.APIGroups {
			for _, res := range r.Resources {
				key := strings.TrimSuffix(res+"."+g, ".")
				out[key] = append(out[key], r.Verbs...)
			}
		}
	}
	for k, v := range out {
		slices.Sort(v)
		out[k] = slices.Compact(v)
	}
	return out
}

// TestAccessRolesExact pins every right of every role: each role is the
// one below it plus its own, and nothing else.
func TestAccessRolesExact(t *testing.T) {
	read := []string{"get", "list", "watch"}
	view := map[string][]string{
		"pods": read, "pods/log": {"get"}, "services": read, "endpoints": read, "configmaps": read,
		"persistentvolumeclaims": read, "events": read, "events.events.k8s.io": read,
		"deployments.apps": read, "statefulsets.apps": read, "replicasets.apps": read,
		"jobs.batch": read, "cronjobs.batch": read, "horizontalpodautoscalers.autoscaling": read,
		"ingresses.networking.k8s.io": read,
	}
	deploy := maps.Clone(view)
	deploy["pods"] = []string{"delete", "get", "list", "watch"}
	deploy["deployments.apps"] = []string{"get", "list", "patch", "watch"}
	deploy["statefulsets.apps"] = []string{"get", "list", "patch", "watch"}
	admin := maps.Clone(deploy)
	admin["pods/exec"] = []string{"create", "get"}
	admin["pods/portforward"] = []string{"create", "get"}
	want := map[string]map[string][]string{"view": view, "deploy": deploy, "admin": admin}
	for _, role := range manifest.AccessRoles {
		if got := rights(rulesUpTo(role)); !reflect.DeepEqual(got, want[role]) {
			t.Errorf("%s grants\n%v\nwant\n%v", role, got, want[role])
		}
	}
	if got := rights(AccessRules()); !reflect.DeepEqual(got, admin) {
		t.Errorf("AccessRules() = %v, want admin's rights", got)
	}
}

// TestAccessRolesGrantNoDangerousRight: whatever the roles become, none
// grants Secrets, tokens, RBAC objects, the verbs that get around RBAC, or
// a wildcard.
func TestAccessRolesGrantNoDangerousRight(t *testing.T) {
	for _, role := range manifest.AccessRoles {
		for _, r := range rulesUpTo(role) {
			all := slices.Concat(r.APIGroups, r.Resources, r.Verbs)
			switch {
			case slices.ContainsFunc(all, func(s string) bool { return strings.Contains(s, "*") }):
				t.Errorf("%s: wildcard in %+v", role, r)
			case slices.ContainsFunc(r.Resources, func(s string) bool {
				return s == "secrets" || strings.HasPrefix(s, "serviceaccounts")
			}):
				t.Errorf("%s: Secrets or ServiceAccounts in %+v", role, r)
			case slices.Contains(r.APIGroups, rbacv1.GroupName):
				t.Errorf("%s: RBAC objects in %+v", role, r)
			case slices.ContainsFunc(r.Verbs, func(v string) bool { return v == "escalate" || v == "bind" || v == "impersonate" }):
				t.Errorf("%s: escalate, bind or impersonate in %+v", role, r)
			case len(r.ResourceNames) > 0 || len(r.NonResourceURLs) > 0 || len(r.APIGroups) == 0 || len(r.Verbs) == 0:
				t.Errorf("%s: malformed rule %+v", role, r)
			}
		}
	}
}

// TestAccessRulesAreCopies: a caller changing what AccessRules returned
// must not change the Roles rendered next.
func TestAccessRulesAreCopies(t *testing.T) {
	rules := AccessRules()
	rules[0].Verbs[0] = "delete"
	if AccessRules()[0].Verbs[0] == "delete" {
		t.Fatal("AccessRules shares its slices")
	}
}

// TestAccessGroupsPrefix: groups bind as the API server names them,
// users as written.
func TestAccessGroupsPrefix(t *testing.T) {
	opts := goldenOptions()
	opts.OIDCGroupsPrefix = "oidc:"
	res := renderFile(t, "access.bitesize", opts)
	got := map[string][]string{}
	for _, o := range res.Objects {
		if o.GetKind() != "RoleBinding" {
			continue
		}
		var rb rbacv1.RoleBinding
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &rb); err != nil {
			t.Fatal(err)
		}
		for _, s := range rb.Subjects {
			got[rb.Name] = append(got[rb.Name], s.Kind+":"+s.Name)
		}
	}
	// api-team's admin entry names services: it binds nothing.
	want := map[string][]string{
		"envop-view":   {"Group:oidc:everyone", "Group:oidc:shop-devs"},
		"envop-deploy": {"Group:oidc:ci", "User:alice@example.com"},
		"envop-admin":  {"Group:oidc:platform"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("subjects %v, want %v", got, want)
	}
}
