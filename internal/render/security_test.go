package render

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/envop/envop/internal/manifest"
)

// podTemplates returns the pod template of every rendered workload, by
// kind/name.
func podTemplates(t *testing.T, res *Result) map[string]corev1.PodTemplateSpec {
	t.Helper()
	out := map[string]corev1.PodTemplateSpec{}
	for _, o := range res.Objects {
		path := PodTemplatePath(o.GetKind())
		if path == nil {
			continue
		}
		m, found, err := unstructured.NestedMap(o.Object, path...)
		if !found || err != nil {
			t.Fatalf("%s %s has no pod template: %v", o.GetKind(), o.GetName(), err)
		}
		var tmpl corev1.PodTemplateSpec
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(m, &tmpl); err != nil {
			t.Fatal(err)
		}
		out[o.GetKind()+"/"+o.GetName()] = tmpl
	}
	return out
}

// TestPodSecurity checks every pod template of every workload kind, init
// containers included, at both levels.
func TestPodSecurity(t *testing.T) {
	for _, level := range []string{"", manifest.PodSecurityBaseline, manifest.PodSecurityRestricted} {
		t.Run("level="+level, func(t *testing.T) {
			res := renderLevel(t, "restricted.bitesize", level)
			templates := podTemplates(t, res)
			kinds, inits := map[string]bool{}, 0
			for name, tmpl := range templates {
				kind, _, _ := strings.Cut(name, "/")
				kinds[kind] = true
				inits += len(tmpl.Spec.InitContainers)
				checkPodSecurity(t, name, tmpl.Spec, level == manifest.PodSecurityRestricted)
			}
			if len(kinds) != 4 || inits == 0 {
				t.Errorf("rendered workload kinds %v and %d init containers, want Deployment, StatefulSet, Job, CronJob and some", kinds, inits)
			}
		})
	}
}

// renderLevel renders testdata/FILE's first environment at a pod security
// level.
func renderLevel(t *testing.T, file, level string) *Result {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	f, diags := manifest.Load(file, data)
	if diags.HasErrors() {
		t.Fatal(diags.Errors())
	}
	env := &f.Environments[0]
	env.PodSecurity = level
	res, err := Render(env, f.Project, goldenOptions())
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func checkPodSecurity(t *testing.T, name string, spec corev1.PodSpec, restricted bool) {
	t.Helper()
	wantToken := name == "Deployment/operator-bridge" // the service that asks for it
	if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken != wantToken {
		t.Errorf("%s: automountServiceAccountToken %v, want %v", name, spec.AutomountServiceAccountToken, wantToken)
	}
	psc := spec.SecurityContext
	if psc == nil || psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Fatalf("%s: pod security context %+v, want seccomp RuntimeDefault", name, psc)
	}
	if nonRoot := psc.RunAsNonRoot != nil && *psc.RunAsNonRoot; nonRoot != restricted {
		t.Errorf("%s: runAsNonRoot %v, want %v", name, psc.RunAsNonRoot, restricted)
	}
	containers := append(append([]corev1.Container(nil), spec.InitContainers...), spec.Containers...)
	for _, c := range containers {
		sc := c.SecurityContext
		if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			t.Errorf("%s: container %s may escalate privileges: %+v", name, c.Name, sc)
			continue
		}
		var drop []corev1.Capability
		if sc.Capabilities != nil {
			drop = sc.Capabilities.Drop
		}
		if want := []corev1.Capability{"ALL"}; restricted != reflect.DeepEqual(drop, want) {
			t.Errorf("%s: container %s drops %v (restricted %v)", name, c.Name, drop, restricted)
		}
		if sc.Capabilities != nil && len(sc.Capabilities.Add) > 0 || sc.Privileged != nil || sc.RunAsUser != nil {
			t.Errorf("%s: container %s: %+v", name, c.Name, sc)
		}
	}
}
