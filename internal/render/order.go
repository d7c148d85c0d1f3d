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
	keyed := make([]object, len(objs))
	for i, u := range objs {
		keyed[i] = newObject(u)
	}
	copy(objs, sortObjects(keyed))
}

// sortObjects orders objects as Sort does, from the keys already read. The
// original index breaks ties, so the order is stable without the cost of a
// stable sort.
func sortObjects(objs []object) []*unstructured.Unstructured {
	type keyed struct {
		rank, index int
		object
	}
	keys := make([]keyed, len(objs))
	for i, o := range objs {
		keys[i] = keyed{Rank(o.kind), i, o}
	}
	slices.SortFunc(keys, func(a, b keyed) int {
		return cmp.Or(cmp.Compare(a.rank, b.rank), strings.Compare(a.kind, b.kind),
			strings.Compare(a.name, b.name), cmp.Compare(a.index, b.index))
	})
	out := make([]*unstructured.Unstructured, len(keys))
	for i, k := range keys {
		out[i] = k.u
	}
	return out
}
