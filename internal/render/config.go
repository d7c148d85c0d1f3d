package render

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path"
	"sort"
	"strings"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/envop/envop/internal/manifest"
)

// gists renders a ConfigMap per gist from the file contents in Options and
// remembers their hashes for the pods that mount them.
func (r *renderer) gists() error {
	r.gistHash = map[string]string{}
	for _, g := range r.env.Gists {
		cm, err := r.gistConfigMap(g)
		if err != nil {
			return fmt.Errorf("render gist %q: %w", g.Name, err)
		}
		r.gistHash[g.Name] = cm.Annotations[AnnotationContentHash]
		if err := r.add(cm); err != nil {
			return err
		}
	}
	return nil
}

func (r *renderer) gistConfigMap(g manifest.Gist) (*corev1.ConfigMap, error) {
	data, binary := map[string]string{}, map[string][]byte{}
	if g.Source != "" {
		if err := r.configMapFile(g.Source, data, binary); err != nil {
			return nil, err
		}
	}
	for _, f := range g.Files {
		if err := r.gistFiles(f, data, binary); err != nil {
			return nil, err
		}
	}
	return &corev1.ConfigMap{
		TypeMeta: typeMeta("v1", "ConfigMap"),
		ObjectMeta: metav1.ObjectMeta{Name: g.Name, Namespace: r.namespace, Labels: r.labels(g.Name, g.Name, ""),
			Annotations: map[string]string{AnnotationContentHash: contentHash(data, binary)}},
		Data: data, BinaryData: binary,
	}, nil
}

// configMapFile reads a ConfigMap manifest kept in the repository and takes
// its data; its name and namespace come from the gist.
func (r *renderer) configMapFile(p string, data map[string]string, binary map[string][]byte) error {
	raw, ok := r.opts.Files[path.Clean(p)]
	if !ok {
		return fmt.Errorf("file %q not supplied", p)
	}
	cmData, cmBinary, err := manifest.ConfigMapData(raw)
	if err != nil {
		return fmt.Errorf("%q is not a ConfigMap manifest: %w", p, err)
	}
	for k, v := range cmData {
		data[k] = v
	}
	for k, v := range cmBinary {
		binary[k] = v
	}
	return nil
}

// gistFiles adds a file, or every file under a folder, keyed by base name.
func (r *renderer) gistFiles(p string, data map[string]string, binary map[string][]byte) error {
	p = path.Clean(p)
	var found []string
	if _, ok := r.opts.Files[p]; ok {
		found = append(found, p)
	} else {
		for name := range r.opts.Files {
			if strings.HasPrefix(name, p+"/") || p == "." {
				found = append(found, name)
			}
		}
	}
	if len(found) == 0 {
		return fmt.Errorf("file %q not supplied", p)
	}
	sort.Strings(found)
	for _, name := range found {
		key, content := path.Base(name), r.opts.Files[name]
		if utf8.Valid(content) {
			data[key] = string(content)
		} else {
			binary[key] = content
		}
	}
	return nil
}

func contentHash(data map[string]string, binary map[string][]byte) string {
	h := sha256.New()
	for _, k := range sortedKeys(data) {
		fmt.Fprintf(h, "%q=%q\n", k, data[k])
	}
	for _, k := range sortedKeys(binary) {
		fmt.Fprintf(h, "%q=%x\n", k, binary[k])
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Rules of the roles access can grant. view reads workloads, pods and their
// logs; deploy adds what rolling a new version and restarting pods needs;
// admin manages every namespaced object envop renders.
var accessRules = map[string][]rbacv1.PolicyRule{
	"view": {
		{APIGroups: []string{""}, Resources: []string{"pods", "pods/log", "services", "endpoints", "configmaps", "persistentvolumeclaims", "events"}, Verbs: []string{"get", "list", "watch"}},
		{APIGroups: []string{"apps"}, Resources: []string{"deployments", "statefulsets", "replicasets"}, Verbs: []string{"get", "list", "watch"}},
		{APIGroups: []string{"batch"}, Resources: []string{"jobs", "cronjobs"}, Verbs: []string{"get", "list", "watch"}},
		{APIGroups: []string{"autoscaling"}, Resources: []string{"horizontalpodautoscalers"}, Verbs: []string{"get", "list", "watch"}},
		{APIGroups: []string{"networking.k8s.io"}, Resources: []string{"ingresses"}, Verbs: []string{"get", "list", "watch"}},
	},
	"deploy": {
		{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"delete"}},
		{APIGroups: []string{"apps"}, Resources: []string{"deployments", "statefulsets"}, Verbs: []string{"patch", "update"}},
	},
	"admin": {
		{APIGroups: []string{"", "apps", "batch", "autoscaling", "networking.k8s.io"}, Resources: []string{"*"}, Verbs: []string{"*"}},
	},
}

// AccessRoleName is the name of the Role rendered for an `access` role.
func AccessRoleName(role string) string { return "envop-" + role }

// access renders a Role and a RoleBinding per role in use; each role
// includes the rules of the roles below it.
func (r *renderer) access() {
	subjects := map[string][]rbacv1.Subject{}
	for _, a := range r.env.Access {
		s := rbacv1.Subject{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: a.Group}
		if a.User != "" {
			s = rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: a.User}
		}
		subjects[a.Role] = append(subjects[a.Role], s)
	}
	for _, role := range manifest.AccessRoles {
		subs := subjects[role]
		if len(subs) == 0 {
			continue
		}
		sort.Slice(subs, func(i, j int) bool { return subs[i].Kind+"/"+subs[i].Name < subs[j].Kind+"/"+subs[j].Name })
		name := AccessRoleName(role)
		labels := r.labels(name, name, "")
		labels[LabelAccess] = role
		meta := metav1.ObjectMeta{Name: name, Namespace: r.namespace, Labels: labels}
		_ = r.add(&rbacv1.Role{TypeMeta: typeMeta("rbac.authorization.k8s.io/v1", "Role"), ObjectMeta: meta, Rules: rulesUpTo(role)})
		_ = r.add(&rbacv1.RoleBinding{TypeMeta: typeMeta("rbac.authorization.k8s.io/v1", "RoleBinding"), ObjectMeta: meta,
			Subjects: dedupeSubjects(subs), RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: name}})
	}
}

func rulesUpTo(role string) []rbacv1.PolicyRule {
	var out []rbacv1.PolicyRule
	for _, r := range manifest.AccessRoles {
		out = append(out, accessRules[r]...)
		if r == role {
			break
		}
	}
	return out
}

func dedupeSubjects(subs []rbacv1.Subject) []rbacv1.Subject {
	var out []rbacv1.Subject
	for i, s := range subs {
		if i == 0 || s != subs[i-1] {
			out = append(out, s)
		}
	}
	return out
}
