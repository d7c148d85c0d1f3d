package render

import (
	"slices"
	"sort"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/envop/envop/internal/manifest"
)

// readVerbs are the verbs of looking without changing.
var readVerbs = []string{"get", "list", "watch"}

// accessRules are what each role of `access` adds to the role below it,
// every right named: a wildcard would grant Secrets, ServiceAccount tokens
// and whatever resources a later Kubernetes adds. No role reads Secrets or
// touches RBAC. The operator holds the union of these rules (AccessRules),
// which is what lets it create and bind the Roles without escalate or bind
// (docs/install.md).
var accessRules = map[string][]rbacv1.PolicyRule{
	// view sees workloads, their pods, logs and events, and their config.
	// A log is only ever read with get.
	"view": {
		{APIGroups: []string{""}, Resources: []string{"pods", "services", "endpoints", "configmaps", "persistentvolumeclaims", "events"}, Verbs: readVerbs},
		{APIGroups: []string{""}, Resources: []string{"pods/log"}, Verbs: []string{"get"}},
		{APIGroups: []string{"apps"}, Resources: []string{"deployments", "statefulsets", "replicasets"}, Verbs: readVerbs},
		{APIGroups: []string{"batch"}, Resources: []string{"jobs", "cronjobs"}, Verbs: readVerbs},
		{APIGroups: []string{"autoscaling"}, Resources: []string{"horizontalpodautoscalers"}, Verbs: readVerbs},
		{APIGroups: []string{"networking.k8s.io"}, Resources: []string{"ingresses"}, Verbs: readVerbs},
		{APIGroups: []string{"events.k8s.io"}, Resources: []string{"events"}, Verbs: readVerbs},
	},
	// deploy restarts pods: deleting one, or `kubectl rollout restart`,
	// which patches the workload's pod template.
	"deploy": {
		{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"delete"}},
		{APIGroups: []string{"apps"}, Resources: []string{"deployments", "statefulsets"}, Verbs: []string{"patch"}},
	},
	// admin gets into running pods: `kubectl exec` and `kubectl
	// port-forward`, which need create, and get for the WebSocket upgrade.
	"admin": {
		{APIGroups: []string{""}, Resources: []string{"pods/exec", "pods/portforward"}, Verbs: []string{"create", "get"}},
	},
}

// AccessRoleName is the name of the Role rendered for an `access` role.
func AccessRoleName(role string) string { return "envop-" + role }

// AccessRules are the rules of every role `access` can grant, which are
// those of the highest role, as each includes the ones below it. The
// operator must hold them all to create and bind those Roles.
func AccessRules() []rbacv1.PolicyRule {
	return rulesUpTo(manifest.AccessRoles[len(manifest.AccessRoles)-1])
}

// access renders a Role and a RoleBinding per role in use; each role
// includes the rules of the roles below it.
func (r *renderer) access() {
	subjects := r.accessSubjects()
	for _, role := range manifest.AccessRoles {
		subs := subjects[role]
		if len(subs) == 0 {
			continue
		}
		name := AccessRoleName(role)
		labels := r.labels(name, name, "")
		labels[LabelAccess] = role
		meta := metav1.ObjectMeta{Name: name, Namespace: r.namespace, Labels: labels}
		_ = r.add(&rbacv1.Role{TypeMeta: typeMeta("rbac.authorization.k8s.io/v1", "Role"), ObjectMeta: meta, Rules: rulesUpTo(role)})
		_ = r.add(&rbacv1.RoleBinding{TypeMeta: typeMeta("rbac.authorization.k8s.io/v1", "RoleBinding"), ObjectMeta: meta,
			Subjects: subs, RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: name}})
	}
}

// accessSubjects are the subjects of each role, sorted and without
// duplicates. Groups carry Options.OIDCGroupsPrefix: the API server
// prefixes the groups of OIDC tokens with its --oidc-groups-prefix, and a
// binding to the bare name would match nobody, or a group of another
// authenticator with that name. An entry confined to some services binds
// nothing: Kubernetes RBAC cannot tell one service's pods and logs from
// another's, so such a role lives on the HTTP API only.
func (r *renderer) accessSubjects() map[string][]rbacv1.Subject {
	subjects := map[string][]rbacv1.Subject{}
	for _, a := range r.env.Access {
		if !a.EveryService() {
			continue
		}
		s := rbacv1.Subject{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: r.opts.OIDCGroupsPrefix + a.Group}
		if a.User != "" {
			s = rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: a.User}
		}
		subjects[a.Role] = append(subjects[a.Role], s)
	}
	for role, subs := range subjects {
		sort.Slice(subs, func(i, j int) bool { return subs[i].Kind+"/"+subs[i].Name < subs[j].Kind+"/"+subs[j].Name })
		subjects[role] = slices.Compact(subs)
	}
	return subjects
}

// rulesUpTo are the rules of role: its own and those of every role below,
// copied so that no caller can change accessRules.
func rulesUpTo(role string) []rbacv1.PolicyRule {
	var out []rbacv1.PolicyRule
	for _, r := range manifest.AccessRoles {
		for _, rule := range accessRules[r] {
			out = append(out, *rule.DeepCopy())
		}
		if r == role {
			break
		}
	}
	return out
}
