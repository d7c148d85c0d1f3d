package render

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/randfill"

	"github.com/envop/envop/internal/manifest"
)

// reference is what toMap must equal: the API machinery's converter, then
// every nil, empty map and empty list removed.
func reference(t *testing.T, obj any) map[string]any {
	t.Helper()
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		t.Fatalf("reference conversion of %T: %v", obj, err)
	}
	pruneEmpty(m)
	return m
}

// TestToMapMatchesConverter fills every kind the renderer makes with random
// values (many times, sparse and dense) and checks toMap gives exactly the
// API machinery's answer.
func TestToMapMatchesConverter(t *testing.T) {
	kinds := []func() any{
		func() any { return &appsv1.Deployment{} },
		func() any { return &appsv1.StatefulSet{} },
		func() any { return &batchv1.Job{} },
		func() any { return &batchv1.CronJob{} },
		func() any { return &corev1.Service{} },
		func() any { return &corev1.PersistentVolumeClaim{} },
		func() any { return &corev1.ConfigMap{} },
		func() any { return &corev1.Secret{} },
		func() any { return &networkingv1.Ingress{} },
		func() any { return &autoscalingv2.HorizontalPodAutoscaler{} },
		func() any { return &rbacv1.Role{} },
		func() any { return &rbacv1.RoleBinding{} },
	}
	for _, nilChance := range []float64{0.2, 0.8} {
		f := randfill.NewWithSeed(int64(nilChance*100)).NilChance(nilChance).NumElements(0, 2).MaxDepth(12).Funcs(
			func(q *resource.Quantity, c randfill.Continue) {
				*q = *resource.NewMilliQuantity(c.Int63n(1<<40), resource.DecimalSI)
			},
			func(x *intstr.IntOrString, c randfill.Continue) {
				if c.Bool() {
					*x = intstr.FromInt32(c.Int31())
				} else {
					*x = intstr.FromString(c.String(8))
				}
			},
			func(fv *metav1.FieldsV1, c randfill.Continue) {
				fv.Raw, _ = json.Marshal(map[string]any{"f:" + c.String(4): map[string]any{"k": 1}})
			},
			func(tm *metav1.Time, c randfill.Continue) {
				if c.Bool() {
					*tm = metav1.NewTime(time.Unix(c.Int63n(1<<32), 0))
				}
			},
		)
		for _, kind := range kinds {
			for i := range 40 {
				obj := kind()
				f.Fill(obj)
				t.Run(fmt.Sprintf("%T/%v/%d", obj, nilChance, i), func(t *testing.T) {
					got, err := toMap(obj)
					if err != nil {
						t.Fatal(err)
					}
					if want := reference(t, obj); !reflect.DeepEqual(got, want) {
						t.Fatalf("toMap differs from the converter\n got: %v\nwant: %v", got, want)
					}
				})
			}
		}
	}
}

func TestToMapEdgeValues(t *testing.T) {
	type named []string
	type namedMap map[string]string
	type inner struct {
		A string `json:"a,omitempty"`
	}
	type odd struct {
		metav1.TypeMeta `json:",inline"`
		Skipped         string            `json:"-"`
		NoTag           string            // named by the Go field
		Zero            int32             `json:"zero"`
		Empty           inner             `json:"empty"`
		List            []inner           `json:"list"`
		Bytes           []byte            `json:"bytes,omitempty"`
		Dur             metav1.Duration   `json:"dur"`
		OmitZero        metav1.Time       `json:"omitZero,omitzero"`
		Map             map[string]*inner `json:"map"`
		Iface           any               `json:"iface"`
		Named           named             `json:"named"`
		NamedMap        namedMap          `json:"namedMap"`
	}
	obj := &odd{
		TypeMeta: metav1.TypeMeta{Kind: "Odd"}, Skipped: "x", NoTag: "n",
		List: []inner{{}, {A: "a"}}, Bytes: []byte("hi"), Dur: metav1.Duration{Duration: time.Second},
		Map: map[string]*inner{"nil": nil, "empty": {}, "set": {A: "b"}}, Iface: int8(3),
		Named: named{"a"}, NamedMap: namedMap{"k": "v"},
	}
	got, err := toMap(obj)
	if err != nil {
		t.Fatal(err)
	}
	if want := reference(t, obj); !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v\nwant %v", got, want)
	}
	if _, err := toMap(&struct {
		M map[int]string `json:"m"`
	}{M: map[int]string{1: "x"}}); err == nil {
		t.Fatal("a map with integer keys encoded without an error")
	}
}

// renderedDeployment is a typical rendered Deployment as a typed object.
func renderedDeployment(b *testing.B) *appsv1.Deployment {
	f, diags := manifest.Load("big.bitesize", manifest500())
	if diags.HasErrors() {
		b.Fatal(diags.Errors())
	}
	res, err := Render(&f.Environments[0], f.Project, Options{})
	if err != nil {
		b.Fatal(err)
	}
	for _, u := range res.Objects {
		if u.GetKind() == "Deployment" {
			d := &appsv1.Deployment{}
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, d); err != nil {
				b.Fatal(err)
			}
			return d
		}
	}
	b.Fatal("no Deployment rendered")
	return nil
}

// BenchmarkToMap and BenchmarkConverterAndPrune compare the two ways to
// turn a typed Deployment into what server-side apply sends.
func BenchmarkToMap(b *testing.B) {
	d := renderedDeployment(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := toMap(d); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkConverterAndPrune(b *testing.B) {
	d := renderedDeployment(b)
	b.ReportAllocs()
	for b.Loop() {
		m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(d)
		if err != nil {
			b.Fatal(err)
		}
		pruneEmpty(m)
	}
}

// TestToMapKeepsFalseSecurity: the security settings every pod gets are
// pointers to false, which omitempty must not drop (a dropped
// automountServiceAccountToken would mount the token after all).
func TestToMapKeepsFalseSecurity(t *testing.T) {
	spec := corev1.PodSpec{Containers: []corev1.Container{{Name: "c"}}}
	secure(&spec, &manifest.Service{}, manifest.PodSecurityRestricted)
	d := &appsv1.Deployment{Spec: appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{Spec: spec}}}
	got, err := toMap(d)
	if err != nil {
		t.Fatal(err)
	}
	if want := reference(t, d); !reflect.DeepEqual(got, want) {
		t.Fatalf("toMap differs from the converter\n got: %v\nwant: %v", got, want)
	}
	pod, _, _ := unstructured.NestedMap(got, "spec", "template", "spec")
	c := pod["containers"].([]any)[0].(map[string]any)
	if pod["automountServiceAccountToken"] != false || c["securityContext"].(map[string]any)["allowPrivilegeEscalation"] != false {
		t.Errorf("false settings dropped: %v", pod)
	}
}
