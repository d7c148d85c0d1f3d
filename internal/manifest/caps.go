package manifest

import (
	"k8s.io/apimachinery/pkg/api/resource"
)

// Caps are the installer's ceilings on what a service may ask for, the
// original operator's guards (docs/operator.md): a zero value sets none.
type Caps struct {
	// CPU and Memory cap every limit and every request of the resource:
	// a request above the cap would exceed its limit.
	CPU, Memory resource.Quantity
	// HPAReplicas caps every hpa.max_replicas.
	HPAReplicas int32
	// The settings they come from, as the user gave them, for messages:
	// "--max-cpu-limit 4" or "LIMITS_MAX_CPU=4000".
	CPUFrom, MemoryFrom, HPAReplicasFrom string
}

// check refuses, at its value, each limit, request and hpa.max_replicas of
// s above its cap.
func (c Caps) check(v *checker, s *Service) {
	for _, field := range []string{"limits", "requests"} {
		m := s.Limits
		if field == "requests" {
			m = s.Requests
		}
		for _, r := range []struct {
			name, from string
			most       resource.Quantity
		}{{"cpu", c.CPUFrom, c.CPU}, {"memory", c.MemoryFrom, c.Memory}} {
			q, err := resource.ParseQuantity(m[r.name])
			if m[r.name] == "" || err != nil || r.most.IsZero() || q.Cmp(r.most) <= 0 {
				continue // a bad quantity is validation's to report
			}
			v.errorf(keyPath(joinPath(s.Path, field), r.name), "%s %s is above %s, the most the installer allows (%s)",
				r.name, m[r.name], r.most.String(), r.from)
		}
	}
	if h := s.HPA; h != nil && c.HPAReplicas > 0 && h.MaxReplicas > c.HPAReplicas {
		v.errorf(joinPath(h.Path, "max_replicas"), "%d replicas is above %d, the most the installer allows (%s)",
			h.MaxReplicas, c.HPAReplicas, c.HPAReplicasFrom)
	}
}
