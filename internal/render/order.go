package render

import (
	"cmp"
	"slices"
	"strings"

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
	type keyed struct {
		rank, index int
		kind, name  string
		obj         *unstructured.Unstructured
	}
	keys := make([]keyed, len(objs))
	for i, o := range objs {
		keys[i] = keyed{Rank(o.GetKind()), i, o.GetKind(), o.GetName(), o}
	}
	// The original index breaks ties, so the order is stable without the
	// cost of a stable sort.
	slices.SortFunc(keys, func(a, b keyed) int {
		return cmp.Or(cmp.Compare(a.rank, b.rank), strings.Compare(a.kind, b.kind),
			strings.Compare(a.name, b.name), cmp.Compare(a.index, b.index))
	})
	for i, k := range keys {
		objs[i] = k.obj
	}
}
