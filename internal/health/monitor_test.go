package health

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// The Monitor against a real API server is tested in ./clustertest; these
// tests pin its bookkeeping with the fake clientset, fast.

// service returns the objects of a healthy Deployment named name: the
// Deployment, its ReplicaSet and n pods.
func service(name string, n int32) []runtime.Object {
	d := deployment("1.0.0", n)
	d.Name, d.UID = name, types.UID("d-"+name)
	d.Labels = labelsOf(name, name, "1.0.0")
	d.Spec.Template = template(name, "1.0.0")
	d.Spec.Template.Labels = labelsOf(name, name, "1.0.0")
	rs := replicaSet(d, "1.0.0", "a", 0)
	rs.Name, rs.UID = name+"-a", types.UID("rs-"+name)
	rs.Spec.Template.Labels = labelsOf(name, name, "1.0.0")
	rs.Spec.Template.Labels[appsv1.DefaultDeploymentUniqueLabelKey] = "a"
	rs.Labels = rs.Spec.Template.Labels
	objs := []runtime.Object{d, rs}
	for i := range n {
		objs = append(objs, rsPod(rs, fmt.Sprint(i)))
	}
	return objs
}

func startFake(t testing.TB, objs ...runtime.Object) (*Monitor, *fake.Clientset) {
	t.Helper()
	client := fake.NewClientset(objs...)
	m := NewMonitor(client, "shop", "dev", nil)
	ctx, cancel := context.WithCancel(t.Context())
	t.Cleanup(cancel)
	if err := m.Start(ctx); err != nil {
		t.Fatalf("start: %v", err)
	}
	return m, client
}

// await waits for the Monitor to report name with status, or its absence
// when status is empty.
func await(t *testing.T, m *Monitor, name string, status Status) Workload {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		w, ok := m.Workload(name)
		if (status == "" && !ok) || (ok && w.Status == status) {
			return w
		}
		select {
		case <-m.Changed():
		case <-deadline:
			t.Fatalf("%s: want %q, got %+v (found %v)", name, status, w, ok)
		}
	}
}

func TestMonitorFollowsChanges(t *testing.T) {
	m, client := startFake(t, service("api", 2)...)
	ctx := t.Context()
	w := await(t, m, "api", Green)
	if len(w.Pods) != 2 || w.Replicas.Available != 2 {
		t.Errorf("api = %+v", w)
	}

	d, err := client.AppsV1().Deployments("shop").Get(ctx, "api", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	d.Generation = 3
	if _, err := client.AppsV1().Deployments("shop").Update(ctx, d, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	await(t, m, "api", Orange)

	pod := rsPod(&appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "api-a", UID: "rs-api"}, Spec: appsv1.ReplicaSetSpec{Template: d.Spec.Template}}, "9",
		waiting("CrashLoopBackOff", "", 1))
	d.Status.ObservedGeneration = 3
	if _, err := client.AppsV1().Deployments("shop").UpdateStatus(ctx, d, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.CoreV1().Pods("shop").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	await(t, m, "api", Red)

	if err := client.AppsV1().Deployments("shop").Delete(ctx, "api", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	await(t, m, "api", "")
	if ws := m.Workloads(); len(ws) != 0 {
		t.Errorf("workloads after deletion = %+v", ws)
	}
}

func TestMonitorJobsAndAutoscalers(t *testing.T) {
	report := cronJob(batchv1.CronJobStatus{})
	report.Namespace = "shop"
	run := withCondition(job("0.9.1"), batchv1.JobFailed, "BackoffLimitExceeded", "")
	run.Name, run.Labels = "report-1", labelsOf("report", "report", "0.9.1")
	run.OwnerReferences = []metav1.OwnerReference{controllerRef(KindCronJob, "report", report.UID)}
	migrate := job("1.0.0")
	migrate.Status.Active = 1
	newer := withCondition(job("1.1.0"), batchv1.JobComplete, "", "")
	newer.CreationTimestamp = metav1.NewTime(epoch.Add(time.Hour))
	objs := append(service("api", 3), report, run, migrate, newer, &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: "api", Namespace: "shop", Labels: labelsOf("api", "api", "1.0.0")},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{Kind: KindDeployment, Name: "api"}, MaxReplicas: 5,
		},
		Status: autoscalingv2.HorizontalPodAutoscalerStatus{DesiredReplicas: 3},
	})
	objs[0].(*appsv1.Deployment).Spec.Replicas = nil // only the HPA knows

	m, _ := startFake(t, objs...)
	if w := await(t, m, "report", Red); w.Reason != "BackoffLimitExceeded" {
		t.Errorf("report = %+v", w)
	}
	if w := await(t, m, "migrate", Green); w.Version != "1.1.0" {
		t.Errorf("migrate = %+v, want the newest Job, 1.1.0", w)
	}
	if w := await(t, m, "api", Green); w.Replicas.Desired != 3 {
		t.Errorf("api = %+v, want 3 desired from the HPA", w)
	}
	if ws := m.Workloads(); len(ws) != 3 || ws[0].Name != "api" || ws[1].Name != "migrate" || ws[2].Name != "report" {
		t.Errorf("workloads = %+v", ws)
	}
}

func TestMonitorStartErrors(t *testing.T) {
	if err := NewMonitor(fake.NewClientset(), "", "dev", nil).Start(t.Context()); err == nil {
		t.Error("started without a namespace")
	}
	m, _ := startFake(t)
	if err := m.Start(t.Context()); err == nil {
		t.Error("started twice")
	}
	client := fake.NewClientset()
	client.PrependReactor("list", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, errors.New("pods is forbidden")
	})
	m = NewMonitor(client, "shop", "dev", nil)
	m.syncTimeout = 200 * time.Millisecond
	err := m.Start(t.Context())
	if err == nil || !strings.Contains(err.Error(), "caches of pods in namespace \"shop\" not synced") {
		t.Errorf("Start = %v, want the pods cache named", err)
	}
}

func TestSubscribersEachGetWakeUps(t *testing.T) {
	n := newNotifier()
	a, stopA := n.subscribe()
	b, stopB := n.subscribe()
	defer stopB()
	n.notify()
	n.notify() // coalesces
	for _, ch := range []<-chan struct{}{n.def, a, b} {
		select {
		case <-ch:
		default:
			t.Fatal("a subscriber missed the wake-up")
		}
		select {
		case <-ch:
			t.Fatal("wake-ups did not coalesce")
		default:
		}
	}
	stopA()
	n.notify()
	select {
	case <-a:
		t.Error("woken after unsubscribing")
	default:
	}
}

// bench100 is a Monitor over 100 services of 3 pods, a quarter with an HPA.
func bench100(b *testing.B) *Monitor {
	var objs []runtime.Object
	for i := range 100 {
		name := fmt.Sprintf("svc-%03d", i)
		objs = append(objs, service(name, 3)...)
		if i%4 == 0 {
			objs = append(objs, &autoscalingv2.HorizontalPodAutoscaler{
				ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop", Labels: labelsOf(name, name, "1.0.0")},
				Spec:       autoscalingv2.HorizontalPodAutoscalerSpec{ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{Kind: KindDeployment, Name: name}},
			})
		}
	}
	m, _ := startFake(b, objs...)
	if ws := m.Workloads(); len(ws) != 100 || Aggregate(ws) != Green {
		b.Fatalf("%d workloads, %s", len(ws), Aggregate(ws))
	}
	return m
}

// BenchmarkWorkloads100 is the steady state behind GET /status.
func BenchmarkWorkloads100(b *testing.B) {
	m := bench100(b)
	b.ReportAllocs()
	for b.Loop() {
		m.Workloads()
	}
}

func BenchmarkWorkloads100Parallel(b *testing.B) {
	m := bench100(b)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.Workloads()
		}
	})
}

// BenchmarkWorkloads100OneChanged: a read after an event of one service.
func BenchmarkWorkloads100OneChanged(b *testing.B) {
	m := bench100(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		m.results.mu.Lock()
		m.results.invalidate([]string{fmt.Sprintf("svc-%03d", i%100)})
		m.results.mu.Unlock()
		m.Workloads()
		i++
	}
}

// BenchmarkWorkloads100AllChanged: a full recompute, the cost of a read
// after events touched every service.
func BenchmarkWorkloads100AllChanged(b *testing.B) {
	m := bench100(b)
	b.ReportAllocs()
	for b.Loop() {
		m.results.mu.Lock()
		m.results.all = true
		m.results.mu.Unlock()
		m.Workloads()
	}
}
