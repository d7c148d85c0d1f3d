package takeover

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func obj(kind, name string, spec map[string]any) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{"spec": spec}}
	u.SetKind(kind)
	u.SetName(name)
	return u
}

func TestReport(t *testing.T) {
	found := &Found{
		Workloads: map[string]Workload{
			"web":  {Kind: "Deployment", Name: "web", Selector: map[string]string{"creator": "pipeline", "name": "web"}, Keepable: true, Version: "1.2"},
			"odd":  {Kind: "Deployment", Name: "odd"},
			"gone": {Kind: "Deployment", Name: "gone", Keepable: true},
		},
		Active:     map[string]string{"api": "green"},
		TLSSecrets: map[string]string{"web": "web"},
		Claims:     map[string]bool{"data": true, "old-data": true},
		Objects: []Object{{"ConfigMap", "conf"}, {"Deployment", "gone"}, {"Deployment", "odd"}, {"Deployment", "web"},
			{"Ingress", "web"}, {"PersistentVolumeClaim", "data"}, {"PersistentVolumeClaim", "old-data"}, {"Service", "api"}},
	}
	rendered := []*unstructured.Unstructured{
		obj("ConfigMap", "conf", nil), obj("Deployment", "odd", nil), obj("Deployment", "web", nil),
		obj("Ingress", "web", map[string]any{"tls": []any{map[string]any{"secretName": "web-tls"}}}),
		obj("PersistentVolumeClaim", "data", nil), obj("Service", "api", nil),
	}
	for _, prune := range []bool{false, true} {
		got := map[string]Step{}
		for _, s := range Report(found, rendered, prune) {
			got[s.Action+" "+s.Kind+" "+s.Name] = s
		}
		leave := "leave Deployment gone"
		if prune {
			leave = "delete Deployment gone"
		}
		for _, want := range []struct{ key, why string }{
			{"adopt ConfigMap conf", "gist"},
			{"adopt Deployment odd", "expressions"},
			{"keep Deployment web", "creator=pipeline,name=web"},
			{"keep Deployment web", "1.2"},
			{"adopt Ingress web", "creator: pipeline"},
			{"rename Secret web", "tls_secret: web"},
			{"keep PersistentVolumeClaim data", "holds the data"},
			{"leave PersistentVolumeClaim old-data", "never deleted"},
			{"keep Service api", "green"},
			{leave, "renders no Deployment"},
		} {
			s, ok := got[want.key]
			if !ok {
				t.Errorf("prune=%v: no step %q in %v", prune, want.key, got)
				continue
			}
			if !strings.Contains(s.Why, want.why) {
				t.Errorf("prune=%v: %s: why %q does not say %q", prune, want.key, s.Why, want.why)
			}
		}
		if len(got) != 9 {
			t.Errorf("prune=%v: %d steps, want 9: %v", prune, len(got), got)
		}
	}
}

func TestOriginal(t *testing.T) {
	for _, tt := range []struct {
		labels map[string]string
		want   bool
	}{
		{map[string]string{"creator": "pipeline", "name": "web"}, true},
		{map[string]string{"creator": "someone"}, false},
		{map[string]string{}, false},
		// envop's own objects, and the operator's installation, never.
		{map[string]string{"creator": "pipeline", "app.kubernetes.io/managed-by": "envop"}, false},
		{map[string]string{"creator": "pipeline", "app.kubernetes.io/name": "envop", "app.kubernetes.io/component": "operator"}, false},
	} {
		if got := Original(tt.labels); got != tt.want {
			t.Errorf("Original(%v) = %v, want %v", tt.labels, got, tt.want)
		}
	}
}
