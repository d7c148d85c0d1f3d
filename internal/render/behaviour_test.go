package render

import (
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/envop/envop/internal/manifest"
)

func find(t *testing.T, res *Result, kind, name string) *unstructured.Unstructured {
	t.Helper()
	for _, o := range res.Objects {
		if o.GetKind() == kind && o.GetName() == name {
			return o
		}
	}
	t.Fatalf("no %s %s", kind, name)
	return nil
}

func TestVersionsAndActiveOverride(t *testing.T) {
	opts := goldenOptions()
	opts.Versions = map[string]string{"front-blue": "3.2.0", "checkout-green": "7.1.0"}
	opts.Active = map[string]string{"front": "blue"}
	res := renderFile(t, "bluegreen.bitesize", opts)

	blue := find(t, res, "Deployment", "front-blue")
	if got := blue.GetLabels()[LabelVersion]; got != "3.2.0" {
		t.Errorf("front-blue version %q, want the deployed 3.2.0", got)
	}
	sel, _, _ := unstructured.NestedStringMap(find(t, res, "Service", "front").Object, "spec", "selector")
	if sel[LabelInstance] != "front-blue" {
		t.Errorf("parent Service selects %v, want the promoted blue colour", sel)
	}
	if _, found, _ := unstructured.NestedFieldNoCopy(find(t, res, "Deployment", "checkout-green").Object, "spec", "replicas"); found {
		t.Error("a Deployment with an HPA must not set spec.replicas")
	}
	if got := find(t, res, "Deployment", "checkout-green").GetLabels()[LabelVersion]; got != "7.1.0" {
		t.Errorf("checkout-green version %q", got)
	}
}

func TestSkippedWithoutVersion(t *testing.T) {
	res := renderFile(t, "unversioned.bitesize", goldenOptions())
	want := map[string]bool{"pending": true, "pending-bg-blue": true, "pending-bg-green": true, "nightly": true}
	for _, s := range res.Skipped {
		delete(want, s.Workload)
	}
	if len(want) != 0 {
		t.Errorf("not skipped: %v (skipped %+v)", want, res.Skipped)
	}
	for _, o := range res.Objects {
		switch o.GetKind() {
		case "Deployment", "CronJob", "HorizontalPodAutoscaler":
			t.Errorf("rendered %s %s without a version", o.GetKind(), o.GetName())
		}
	}
}

func TestEveryObjectLabelled(t *testing.T) {
	for _, file := range []string{"basic.bitesize", "volumes.bitesize", "access.bitesize", "bluegreen.bitesize"} {
		res := renderFile(t, file, goldenOptions())
		for _, o := range res.Objects {
			l := o.GetLabels()
			for _, key := range []string{LabelName, LabelInstance, LabelVersion, LabelPartOf, LabelEnvironment} {
				if l[key] == "" {
					t.Errorf("%s: %s %s lacks label %s", file, o.GetKind(), o.GetName(), key)
				}
			}
			if l[LabelManagedBy] != ManagedBy || o.GetNamespace() == "" {
				t.Errorf("%s: %s %s: managed-by %q, namespace %q", file, o.GetKind(), o.GetName(), l[LabelManagedBy], o.GetNamespace())
			}
			if _, found := o.Object["status"]; found {
				t.Errorf("%s %s carries status", o.GetKind(), o.GetName())
			}
		}
	}
}

func TestDeterministic(t *testing.T) {
	a, _ := EncodeYAML(renderFile(t, "presets.bitesize", goldenOptions()).Objects)
	for i := 0; i < 5; i++ {
		b, _ := EncodeYAML(renderFile(t, "presets.bitesize", goldenOptions()).Objects)
		if string(a) != string(b) {
			t.Fatal("render is not deterministic")
		}
	}
}

func TestJobName(t *testing.T) {
	long := "a-very-long-service-name-that-goes-on-and-on"
	for _, tt := range []struct{ name, version, want string }{
		{"migrate", "1.4.2", "migrate-1-4-2"},
		{"migrate", "V2_RC", "migrate-v2-rc"},
	} {
		if got := JobName(tt.name, tt.version); got != tt.want {
			t.Errorf("JobName(%q, %q) = %q, want %q", tt.name, tt.version, got, tt.want)
		}
	}
	if got := JobName(long, "2026.11.26-build-1234567"); len(got) > 63 || got == JobName(long, "2026.11.26-build-1234568") {
		t.Errorf("long job names must be cut to 63 and stay unique: %q", got)
	}
}

// An image reference is a version only when it carries a tag or a digest:
// `image: ghcr.io/acme/tool` alone would run whatever :latest is today.
func TestImageWithoutTagWaitsForAVersion(t *testing.T) {
	const file = `project: p
environments:
  - name: dev
    namespace: dev
    services:
      - {name: bare, image: ghcr.io/acme/tool}
      - {name: tagged, image: "ghcr.io/acme/tool:1.2"}
      - {name: pinned, image: "ghcr.io/acme/tool@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}
      - {name: given, image: ghcr.io/acme/tool, version: "2.0"}
`
	f, diags := manifest.Load("environments.bitesize", []byte(file))
	if diags.HasErrors() {
		t.Fatal(diags.Errors())
	}
	res, err := Render(&f.Environments[0], f.Project, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Skipped) != 1 || res.Skipped[0].Workload != "bare" {
		t.Errorf("skipped %+v, want bare only", res.Skipped)
	}
	for name, image := range map[string]string{
		"tagged": "ghcr.io/acme/tool:1.2",
		"pinned": "ghcr.io/acme/tool@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		"given":  "ghcr.io/acme/tool:2.0",
	} {
		containers, _, _ := unstructured.NestedSlice(find(t, res, "Deployment", name).Object, "spec", "template", "spec", "containers")
		if got := containers[0].(map[string]any)["image"]; got != image {
			t.Errorf("%s image %v, want %s", name, got, image)
		}
	}
}

func TestWorkloadObject(t *testing.T) {
	for _, tt := range []struct {
		s                  manifest.Service
		instance, version  string
		wantKind, wantName string
	}{
		{manifest.Service{Name: "web"}, "web-blue", "1.0", "Deployment", "web-blue"},
		{manifest.Service{Name: "db", Kind: manifest.KindStatefulSet}, "db", "1.0", "StatefulSet", "db"},
		{manifest.Service{Name: "migrate", Kind: manifest.KindJob}, "migrate", "1.4.2", "Job", "migrate-1-4-2"},
		{manifest.Service{Name: "nightly", Kind: manifest.KindCronJob}, "nightly", "1.0", "CronJob", "nightly"},
		{manifest.Service{Name: "cache", Type: "couchbase"}, "cache", "1.0", "Couchbase", "cache"},
	} {
		kind, name := WorkloadObject(&tt.s, tt.instance, tt.version)
		if kind != tt.wantKind || name != tt.wantName {
			t.Errorf("WorkloadObject(%s) = %s %s, want %s %s", tt.s.Name, kind, name, tt.wantKind, tt.wantName)
		}
	}
}

// TestKeptSelectors: a workload taken over from the original operator keeps
// its selector; its pods carry those labels beside envop's; its Services
// select by them and carry the original's annotations; the parent of a
// blue/green pair selects the active colour's kept selector.
func TestKeptSelectors(t *testing.T) {
	opts := goldenOptions()
	opts.Selectors = map[string]map[string]string{
		"front-blue":  {"creator": "pipeline", "name": "front-blue"},
		"front-green": {"creator": "pipeline", "name": "front-green"},
	}
	opts.Active = map[string]string{"front": "green"}
	res := renderFile(t, "bluegreen.bitesize", opts)

	d := find(t, res, "Deployment", "front-blue")
	sel, _, _ := unstructured.NestedStringMap(d.Object, "spec", "selector", "matchLabels")
	if len(sel) != 2 || sel["name"] != "front-blue" || sel["creator"] != "pipeline" {
		t.Errorf("front-blue selector %v, want the kept one", sel)
	}
	pod, _, _ := unstructured.NestedStringMap(d.Object, "spec", "template", "metadata", "labels")
	if pod["name"] != "front-blue" || pod["creator"] != "pipeline" || pod[LabelInstance] != "front-blue" {
		t.Errorf("front-blue pod labels %v, want the kept selector's and envop's", pod)
	}
	parent := find(t, res, "Service", "front")
	if sel, _, _ := unstructured.NestedStringMap(parent.Object, "spec", "selector"); len(sel) != 2 || sel["name"] != "front-green" {
		t.Errorf("parent Service selects %v, want the active green colour's kept selector", sel)
	}
	if a := parent.GetAnnotations(); a["deployment_method"] != "bluegreen" || a["deployment_active"] != "green" {
		t.Errorf("parent Service annotations %v", a)
	}
	if a := find(t, res, "Service", "front-blue").GetAnnotations(); a["deployment_active"] != "" || a["deployment_method"] != "bluegreen" {
		t.Errorf("colour Service annotations %v", a)
	}
	// Services of workloads envop made carry no such annotation.
	if a := find(t, res, "Service", "checkout").GetAnnotations(); len(a) != 0 {
		t.Errorf("checkout Service annotations %v", a)
	}
}
