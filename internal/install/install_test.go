package install

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/envop/envop/internal/operator"
	"github.com/envop/envop/internal/rbac"
	"github.com/envop/envop/internal/render"
)

var update = flag.Bool("update", false, "rewrite the golden files and deploy/base")

func fullOptions() Options {
	return Options{
		Namespace: "shop-dev", Environment: "dev",
		GitRepo: "https://git.example.com/shop/environments.git", GitBranch: "main",
		Image: "ghcr.io/envop/envop:v1.2.3", AuthTokenSecret: DefaultAuthTokenSecret,
		Rules: operator.RequiredRules(), MetricsPort: DefaultMetricsPort,
	}
}

// BaseOptions are those of deploy/base: no environment or repository (the
// overlay sets them), a placeholder namespace (the overlay's replaces it,
// RoleBinding subject included) and the latest image (the overlay pins it).
func baseOptions() Options {
	return Options{
		Namespace: "envop", Image: ImageRepository + ":latest",
		AuthTokenSecret: DefaultAuthTokenSecret, Rules: operator.RequiredRules(), MetricsPort: DefaultMetricsPort,
	}
}

const baseNotice = "# Generated from internal/install: regenerate with `go test ./internal/install -update`; do not edit.\n"

func TestRenderGolden(t *testing.T) {
	oidc := fullOptions()
	oidc.AuthTokenSecret, oidc.Environment, oidc.GitRepo, oidc.GitBranch = "", "", "", ""
	withAccess := fullOptions()
	withAccess.Access = true
	withKinds := fullOptions()
	withKinds.Istio, withKinds.IstioRules = true, operator.IstioRules()
	withKinds.HelmCharts, withKinds.HelmChartRules = true, operator.HelmChartRules()
	for _, tt := range []struct {
		name, format string
		opts         Options
	}{
		{"full.yaml", FormatYAML, fullOptions()},
		{"full.json", FormatJSON, fullOptions()},
		{"no-token-secret.yaml", FormatYAML, oidc},
		{"access.yaml", FormatYAML, withAccess},
		{"istio-helm-charts.yaml", FormatYAML, withKinds},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Render(tt.opts, tt.format)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join("testdata", tt.name), got)
			again, _ := Render(tt.opts, tt.format)
			if !bytes.Equal(got, again) {
				t.Error("two renders differ")
			}
		})
	}
}

// TestDeployBaseUpToDate keeps deploy/base what this package generates.
func TestDeployBaseUpToDate(t *testing.T) {
	got, err := Render(baseOptions(), FormatYAML)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, filepath.Join("..", "..", "deploy", "base", "envop.yaml"), append([]byte(baseNotice), got...))
	k, err := os.ReadFile(filepath.Join("..", "..", "deploy", "base", "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(k), "- envop.yaml") {
		t.Errorf("deploy/base/kustomization.yaml does not list envop.yaml:\n%s", k)
	}
}

// TestAccessComponentUpToDate keeps deploy/components/access what this
// package generates for --access.
func TestAccessComponentUpToDate(t *testing.T) {
	got, err := RenderAccessComponent(baseNotice, baseOptions())
	if err != nil {
		t.Fatal(err)
	}
	golden(t, filepath.Join("..", "..", "deploy", "components", "access", "access.yaml"), got)
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/install -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the generated manifests; run `go test ./internal/install -update` and review the diff.\ngot:\n%s", path, got)
	}
}

func TestObjects(t *testing.T) {
	objs, err := Objects(fullOptions())
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, o := range objs {
		kinds = append(kinds, o.GetObjectKind().GroupVersionKind().Kind)
	}
	if want := []string{"ServiceAccount", "Role", "RoleBinding", "Deployment", "Service"}; !reflect.DeepEqual(kinds, want) {
		t.Fatalf("kinds = %v, want %v", kinds, want)
	}
	role := objs[1].(*rbacv1.Role)
	if !reflect.DeepEqual(role.Rules, operator.RequiredRules()) {
		t.Errorf("Role rules differ from operator.RequiredRules():\n%v", role.Rules)
	}
	rb := objs[2].(*rbacv1.RoleBinding)
	if rb.RoleRef.Kind != "Role" || rb.Subjects[0].Namespace != "shop-dev" || rb.Subjects[0].Name != Name {
		t.Errorf("RoleBinding = %+v", rb)
	}
	checkDeployment(t, objs[3].(*appsv1.Deployment))
	svc := objs[4].(*corev1.Service)
	if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Port != Port || svc.Spec.Ports[0].TargetPort.StrVal != "http" ||
		!reflect.DeepEqual(svc.Spec.Selector, objs[3].(*appsv1.Deployment).Spec.Selector.MatchLabels) {
		t.Errorf("Service = %+v, want the API's port only", svc.Spec)
	}
	for _, o := range objs {
		if l := o.(interface{ GetLabels() map[string]string }).GetLabels(); l["app.kubernetes.io/managed-by"] != "" || l["envop.io/environment"] != "" {
			t.Errorf("%T carries the labels the operator prunes by: %v", o, l)
		}
	}
}

// TestAccessRole: with Access the operator's Role holds exactly its own
// rules and those of the `access` Roles, merged, and nothing that gets
// around RBAC; there is no other Role.
func TestAccessRole(t *testing.T) {
	o := fullOptions()
	o.Access = true
	objs, err := Objects(o)
	if err != nil {
		t.Fatal(err)
	}
	roles := 0
	for _, obj := range objs {
		if _, ok := obj.(*rbacv1.Role); ok {
			roles++
		}
	}
	if roles != 1 {
		t.Errorf("%d Roles, want the operator's only", roles)
	}
	got := objs[1].(*rbacv1.Role).Rules
	if want := rbac.Merge(operator.RequiredRules(), render.AccessRules()); !reflect.DeepEqual(got, want) {
		t.Errorf("Role rules =\n%v\nwant\n%v", got, want)
	}
	if !reflect.DeepEqual(rbac.Merge(got, render.AccessRules()), got) {
		t.Error("the Role lacks a right of the access Roles")
	}
	for _, r := range got {
		for _, v := range r.Verbs {
			if slices.Contains([]string{"escalate", "bind", "impersonate"}, v) {
				t.Errorf("Role holds %s: %+v", v, r)
			}
		}
	}
	patch, err := accessPatch(baseOptions())
	if err != nil {
		t.Fatal(err)
	}
	if patch.Name != Name || patch.Namespace != "" || !reflect.DeepEqual(patch.Rules, rbac.Merge(operator.RequiredRules(), render.AccessRules())) {
		t.Errorf("access patch = %+v", patch)
	}
}

func checkDeployment(t *testing.T, d *appsv1.Deployment) {
	t.Helper()
	pod := d.Spec.Template.Spec
	if *d.Spec.Replicas != 1 || d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType || pod.ServiceAccountName != Name {
		t.Errorf("replicas %d, strategy %s, account %q", *d.Spec.Replicas, d.Spec.Strategy.Type, pod.ServiceAccountName)
	}
	psc, c := pod.SecurityContext, pod.Containers[0]
	sc := c.SecurityContext
	switch {
	case !*psc.RunAsNonRoot || *psc.RunAsUser != UID || psc.RunAsUser == nil:
		t.Error("pod must run as the numeric non-root user")
	case psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault:
		t.Error("seccomp profile must be RuntimeDefault")
	case !*sc.ReadOnlyRootFilesystem || *sc.AllowPrivilegeEscalation || !reflect.DeepEqual(sc.Capabilities.Drop, []corev1.Capability{"ALL"}):
		t.Errorf("container security context = %+v", sc)
	case c.Resources.Requests.Cpu().IsZero() || c.Resources.Limits.Memory().IsZero():
		t.Errorf("resources = %+v", c.Resources)
	case c.LivenessProbe.HTTPGet.Path != "/healthz" || c.ReadinessProbe.HTTPGet.Path != "/readyz" || c.Ports[0].ContainerPort != Port:
		t.Error("probes must be /healthz and /readyz on the http port")
	case !reflect.DeepEqual(c.Args, []string{"serve"}) || c.Image != "ghcr.io/envop/envop:v1.2.3":
		t.Errorf("args %v image %s", c.Args, c.Image)
	}
	env := map[string]corev1.EnvVar{}
	for _, e := range c.Env {
		env[e.Name] = e
	}
	if env["NAMESPACE"].ValueFrom.FieldRef.FieldPath != "metadata.namespace" || env["POD_NAME"].ValueFrom.FieldRef.FieldPath != "metadata.name" {
		t.Error("NAMESPACE and POD_NAME must come from the downward API")
	}
	for name, want := range map[string]string{
		"ENVIRONMENT_NAME": "dev", "GIT_REMOTE_REPOSITORY": "https://git.example.com/shop/environments.git", "GIT_BRANCH": "main",
		"AUTH_TOKEN_FILE": "/etc/envop/tokens/tokens", "METRICS_LISTEN": ":9090",
	} {
		if env[name].Value != want {
			t.Errorf("%s = %q, want %q", name, env[name].Value, want)
		}
	}
	if ref := c.EnvFrom[0].SecretRef; ref.Name != GitSecret || !*ref.Optional {
		t.Errorf("git credentials must come from the optional Secret %s: %+v", GitSecret, ref)
	}
	mounts := map[string]string{}
	for _, m := range c.VolumeMounts {
		mounts[m.Name] = m.MountPath
	}
	if mounts["tmp"] != "/tmp" || mounts["tokens"] != "/etc/envop/tokens" || pod.Volumes[0].EmptyDir == nil {
		t.Errorf("mounts = %v", mounts)
	}
	if s := pod.Volumes[1].Secret; s.SecretName != DefaultAuthTokenSecret || s.Items[0].Key != TokenKey || *s.Optional {
		t.Errorf("token volume = %+v", s)
	}
}

// TestMetricsPort: /metrics gets a pod port of its own, named for a
// PodMonitor and left out of the Service; with 0 it stays on the API's.
func TestMetricsPort(t *testing.T) {
	for _, port := range []int32{DefaultMetricsPort, 9100, 0} {
		o := fullOptions()
		o.MetricsPort = port
		objs, err := Objects(o)
		if err != nil {
			t.Fatal(err)
		}
		c := objs[3].(*appsv1.Deployment).Spec.Template.Spec.Containers[0]
		want := []corev1.ContainerPort{{Name: "http", ContainerPort: Port, Protocol: corev1.ProtocolTCP}}
		listen := ""
		if port != 0 {
			want = append(want, corev1.ContainerPort{Name: "metrics", ContainerPort: port, Protocol: corev1.ProtocolTCP})
			listen = fmt.Sprintf(":%d", port)
		}
		if !reflect.DeepEqual(c.Ports, want) {
			t.Errorf("port %d: container ports %v, want %v", port, c.Ports, want)
		}
		got := ""
		for _, e := range c.Env {
			if e.Name == "METRICS_LISTEN" {
				got = e.Value
			}
		}
		if got != listen {
			t.Errorf("port %d: METRICS_LISTEN = %q, want %q", port, got, listen)
		}
		if ports := objs[4].(*corev1.Service).Spec.Ports; len(ports) != 1 || ports[0].Name != "http" {
			t.Errorf("port %d: Service ports %v, want the API's only", port, ports)
		}
	}
}

func TestNoTokenSecret(t *testing.T) {
	o := fullOptions()
	o.AuthTokenSecret = ""
	objs, err := Objects(o)
	if err != nil {
		t.Fatal(err)
	}
	pod := objs[3].(*appsv1.Deployment).Spec.Template.Spec
	for _, e := range pod.Containers[0].Env {
		if e.Name == "AUTH_TOKEN_FILE" {
			t.Error("AUTH_TOKEN_FILE set without a token Secret")
		}
	}
	if len(pod.Volumes) != 1 || len(pod.Containers[0].VolumeMounts) != 1 {
		t.Errorf("volumes %v", pod.Volumes)
	}
}

func TestValidate(t *testing.T) {
	for _, tt := range []struct {
		name  string
		edit  func(*Options)
		wants []string
	}{
		{"no namespace", func(o *Options) { o.Namespace = "" }, []string{"--namespace is required"}},
		{"bad namespace and secret", func(o *Options) { o.Namespace, o.AuthTokenSecret = "Shop_Dev", "A B" }, []string{`--namespace "Shop_Dev"`, `--auth-token-secret "A B"`}},
		{"no rules", func(o *Options) { o.Rules = nil }, []string{"no rules"}},
		{"wildcard verb", func(o *Options) {
			o.Rules = []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"*"}}}
		}, []string{"wildcards"}},
		{"wildcard resource", func(o *Options) {
			o.Rules = []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"pods/*"}, Verbs: []string{"get"}}}
		}, []string{"wildcards"}},
		{"non-resource", func(o *Options) {
			o.Rules = []rbacv1.PolicyRule{{NonResourceURLs: []string{"/metrics"}, Verbs: []string{"get"}}}
		}, []string{"non-resource"}},
		{"image", func(o *Options) { o.Image = "a b" }, []string{"--image"}},
		{"metrics on the API's port", func(o *Options) { o.MetricsPort = Port }, []string{"--metrics-port 8080"}},
		{"metrics port out of range", func(o *Options) { o.MetricsPort = 70000 }, []string{"--metrics-port 70000"}},
		{"negative metrics port", func(o *Options) { o.MetricsPort = -1 }, []string{"--metrics-port -1"}},
		{"escalate", func(o *Options) {
			o.Rules = append(o.Rules, rbacv1.PolicyRule{APIGroups: []string{rbacv1.GroupName}, Resources: []string{"roles"}, Verbs: []string{"bind", "escalate"}})
		}, []string{"bind is not allowed"}},
		{"impersonate", func(o *Options) {
			o.Rules = []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"serviceaccounts"}, Verbs: []string{"impersonate"}}}
		}, []string{"impersonate is not allowed"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			o := fullOptions()
			tt.edit(&o)
			_, err := Objects(o)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestDefaultImage(t *testing.T) {
	o := fullOptions()
	o.Image = ""
	objs, err := Objects(o)
	if err != nil {
		t.Fatal(err)
	}
	img := objs[3].(*appsv1.Deployment).Spec.Template.Spec.Containers[0].Image
	if img != DefaultImage() || !strings.HasPrefix(img, ImageRepository+":") {
		t.Errorf("image = %s", img)
	}
}

func TestRenderUnknownFormat(t *testing.T) {
	if _, err := Render(fullOptions(), "toml"); err == nil || !strings.Contains(err.Error(), "unknown output format") {
		t.Errorf("err = %v", err)
	}
}
