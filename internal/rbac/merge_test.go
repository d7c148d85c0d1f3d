package rbac

import (
	"reflect"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
)

func TestMerge(t *testing.T) {
	a := []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"pods", "configmaps"}, Verbs: []string{"list", "get"}},
		{APIGroups: []string{"apps"}, Resources: []string{"deployments"}, Verbs: []string{"patch"}},
	}
	b := []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"delete", "get"}},
		{APIGroups: []string{"", "apps"}, Resources: []string{"events"}, Verbs: []string{"watch"}},
	}
	want := []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"delete", "get", "list"}},
		{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get", "list"}},
		{APIGroups: []string{"apps"}, Resources: []string{"deployments"}, Verbs: []string{"patch"}},
		{APIGroups: []string{""}, Resources: []string{"events"}, Verbs: []string{"watch"}},
		{APIGroups: []string{"apps"}, Resources: []string{"events"}, Verbs: []string{"watch"}},
	}
	got := Merge(a, b)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Merge =\n%v\nwant\n%v", got, want)
	}
	if a[0].Verbs[0] != "list" {
		t.Error("Merge changed its input")
	}
	if again := Merge(got); !reflect.DeepEqual(again, got) {
		t.Errorf("merging a merged set changed it: %v", again)
	}
	if len(Merge()) != 0 {
		t.Error("no sets, some rules")
	}
}
