package clustertest

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/envop/envop/internal/health"
	"github.com/envop/envop/internal/render"
	"github.com/envop/envop/internal/testcluster"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

func TestMain(m *testing.M) { os.Exit(testcluster.SharedMain(m)) }

const environment = "dev"

func labelsFor(service, instance, version string) map[string]string {
	return map[string]string{
		render.LabelName:        service,
		render.LabelInstance:    instance,
		render.LabelVersion:     version,
		render.LabelManagedBy:   render.ManagedBy,
		render.LabelEnvironment: environment,
	}
}

// deployment is what render makes of a service: the standard labels on the
// Deployment and its pod template, selected by name and instance. The image
// tag is the version plus a kwok failure tag when one is given.
func deployment(name, version, failure string, replicas int32) *appsv1.Deployment {
	tag := version
	if failure != "" {
		tag += "-" + failure
	}
	l := labelsFor(name, name, version)
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: l},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{render.LabelName: name, render.LabelInstance: name}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: l},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: "app", Image: "registry.example.com/" + name + ":" + tag,
				}}},
			},
		},
	}
}

func create(t *testing.T, client kubernetes.Interface, ns string, d *appsv1.Deployment) {
	t.Helper()
	if _, err := client.AppsV1().Deployments(ns).Create(t.Context(), d, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create deployment %s: %v", d.Name, err)
	}
}

// start starts a Monitor for ns, stopped when the test ends.
func start(t *testing.T, client kubernetes.Interface, ns string) *health.Monitor {
	t.Helper()
	m := health.NewMonitor(client, ns, environment, slog.New(slog.NewTextHandler(t.Output(), nil)))
	if err := m.Start(t.Context()); err != nil {
		t.Fatalf("start monitor: %v", err)
	}
	if !m.Synced() {
		t.Fatal("started but not synced")
	}
	return m
}

// waitFor waits, woken by the Monitor, until the workload satisfies cond,
// and returns it. cond sees every state the Monitor reports on the way.
func waitFor(t *testing.T, m *health.Monitor, name string, timeout time.Duration, cond func(health.Workload) bool) health.Workload {
	t.Helper()
	changed, stop := m.Subscribe()
	defer stop()
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	var last health.Workload
	for {
		w, ok := m.Workload(name)
		if ok && cond(w) {
			return w
		}
		last = w
		select {
		case <-changed:
		case <-ctx.Done():
			t.Fatalf("workload %s: condition not met within %s; last: %s", name, timeout, describe(last))
		}
	}
}

func describe(w health.Workload) string {
	s := fmt.Sprintf("%s %s/%s version=%q status=%s reason=%q message=%q replicas=%+v generation=%d/%d",
		w.Kind, w.Service, w.Name, w.Version, w.Status, w.Reason, w.Message, w.Replicas, w.ObservedGeneration, w.Generation)
	for _, p := range w.Pods {
		s += fmt.Sprintf("\n  pod %s phase=%s ready=%v restarts=%d reason=%q message=%q", p.Name, p.Phase, p.Ready, p.Restarts, p.Reason, p.Message)
	}
	return s
}

func is(status health.Status, reasons ...string) func(health.Workload) bool {
	return func(w health.Workload) bool {
		if w.Status != status {
			return false
		}
		for _, r := range reasons {
			if w.Reason == r {
				return true
			}
		}
		return len(reasons) == 0
	}
}
