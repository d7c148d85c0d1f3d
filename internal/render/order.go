package render

import (
	"sort"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// KindOrder is the order objects are applied in: what pods consume first
// (configuration, claims, identities), then workloads, then what routes to
// them. Kinds not listed (legacy custom resources) come last. The applier
// reuses it, and prunes in reverse.
var KindOrder = []string{
	"Namespace",
	"ConfigMap",
	"Secret",
	"PersistentVolumeClaim",
	"ServiceAccount",
	"Role",
	"RoleBinding",
	"Deployment",
	"StatefulSet",
	"Job",
	"CronJob",
	"Service",
	"Ingress",
	"HorizontalPodAutoscaler",
}

var kindRank = func() map[string]int {
	m := make(map[string]int, len(KindOrder))
	for i, k := range KindOrder {
		m[k] = i
	}
	return m
}()

// Rank is the position of a kind in KindOrder; unknown kinds rank last.
func Rank(kind string) int {
	if r, ok := kindRank[kind]; ok {
		return r
	}
	return len(KindOrder)
}

// Sort orders objects by KindOrder, then kind, then name.
func Sort(objs []*unstructured.Unstructured) {
	sort.SliceStable(objs, func(i, j int) bool {
		a, b := objs[i], objs[j]
		if ra, rb := Rank(a.GetKind()), Rank(b.GetKind()); ra != rb {
			return ra < rb
		}
		if a.GetKind() != b.GetKind() {
			return a.GetKind() < b.GetKind()
		}
		return a.GetName() < b.GetName()
	})
}
