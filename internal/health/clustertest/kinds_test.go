package clustertest

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/envop/envop/internal/health"
	"github.com/envop/envop/internal/render"
	"github.com/envop/envop/internal/testcluster"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestKindsAndScope(t *testing.T) {
	t.Parallel()
	c, ns := testcluster.Get(t), testcluster.Namespace(t)
	m := start(t, c.Client, ns)
	ctx := t.Context()

	blue, green := deployment("checkout", "7.0.0", "", 1), deployment("checkout", "7.1.0", "", 1)
	blue.Name, green.Name = "checkout-blue", "checkout-green"
	for _, d := range []*appsv1.Deployment{blue, green} {
		for _, l := range []map[string]string{d.Labels, d.Spec.Template.Labels, d.Spec.Selector.MatchLabels} {
			l[render.LabelInstance] = d.Name
		}
	}
	unmanaged := deployment("other", "1.0.0", "", 1)
	delete(unmanaged.Labels, render.LabelManagedBy)
	otherEnv := deployment("prod-only", "1.0.0", "", 1)
	otherEnv.Labels[render.LabelEnvironment] = "prod"
	for _, d := range []*appsv1.Deployment{blue, green, unmanaged, otherEnv} {
		create(t, c.Client, ns, d)
	}

	db := statefulSet()
	if _, err := c.Client.AppsV1().StatefulSets(ns).Create(ctx, db, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	migrate := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "migrate-1-4-2", Labels: labelsFor("migrate", "migrate", "1.4.2")},
		Spec:       batchv1.JobSpec{Template: podTemplate("migrate", "1.4.2", corev1.RestartPolicyOnFailure)},
	}
	if _, err := c.Client.BatchV1().Jobs(ns).Create(ctx, migrate, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	report := &batchv1.CronJob{
		ObjectMeta: metav1.ObjectMeta{Name: "report", Labels: labelsFor("report", "report", "0.9.1")},
		Spec: batchv1.CronJobSpec{Schedule: "0 3 * * *", JobTemplate: batchv1.JobTemplateSpec{
			Spec: batchv1.JobSpec{Template: podTemplate("report", "0.9.1", corev1.RestartPolicyOnFailure)},
		}},
	}
	if _, err := c.Client.BatchV1().CronJobs(ns).Create(ctx, report, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	for _, name := range []string{"checkout-blue", "checkout-green", "db", "migrate", "report"} {
		w := waitFor(t, m, name, time.Minute, is(health.Green))
		t.Logf("%s", describe(w))
	}
	ws := m.Workloads()
	var names []string
	for _, w := range ws {
		names = append(names, w.Kind+"/"+w.Name)
	}
	want := []string{"Deployment/checkout-blue", "Deployment/checkout-green", "StatefulSet/db", "Job/migrate", "CronJob/report"}
	slices.SortFunc(want, func(a, b string) int { return compareName(a, b) })
	if !slices.Equal(names, want) {
		t.Errorf("workloads = %v, want %v (sorted by name, nothing unmanaged or of another environment)", names, want)
	}
	if s := health.ByService(ws); s["checkout"] != health.Green || len(s) != 4 {
		t.Errorf("by service = %v", s)
	}
	if w, _ := m.Workload("checkout-green"); w.Service != "checkout" || w.Version != "7.1.0" {
		t.Errorf("checkout-green = %s", describe(w))
	}

	if err := c.Client.AppsV1().Deployments(ns).Delete(ctx, "checkout-blue", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitForGone(t, m, "checkout-blue")
}

// compareName orders "Kind/name" strings by name, as Workloads does.
func compareName(a, b string) int {
	_, na, _ := strings.Cut(a, "/")
	_, nb, _ := strings.Cut(b, "/")
	return strings.Compare(na, nb)
}

func waitForGone(t *testing.T, m *health.Monitor, name string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	changed, stop := m.Subscribe()
	defer stop()
	for {
		if _, ok := m.Workload(name); !ok {
			return
		}
		select {
		case <-changed:
		case <-time.After(time.Until(deadline)):
			t.Fatalf("workload %s still reported after its deletion", name)
		}
	}
}

func podTemplate(name, version string, restart corev1.RestartPolicy) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: labelsFor(name, name, version)},
		Spec: corev1.PodSpec{
			RestartPolicy: restart,
			Containers:    []corev1.Container{{Name: name, Image: "registry.example.com/" + name + ":" + version}},
		},
	}
}

func statefulSet() *appsv1.StatefulSet {
	replicas := int32(2)
	return &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: "db", Labels: labelsFor("db", "db", "16.1")},
		Spec: appsv1.StatefulSetSpec{
			Replicas:    &replicas,
			ServiceName: "db",
			Selector:    &metav1.LabelSelector{MatchLabels: map[string]string{render.LabelName: "db", render.LabelInstance: "db"}},
			Template:    podTemplate("db", "16.1", corev1.RestartPolicyAlways),
		},
	}
}
