package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	"github.com/envop/envop/internal/cli"
	"github.com/envop/envop/internal/operator"
	"github.com/envop/envop/internal/takeover"
	"github.com/envop/envop/internal/testcluster"
)

// originalManager is the field manager the original Environment Operator's
// writes are made with here (a client-go program updating objects).
const originalManager = "environment-operator"

// originalLabels are the labels the original put on a workload, its pods
// and its Service.
func originalLabels(name, version string) map[string]string {
	return map[string]string{"creator": "pipeline", "name": name, "application": name, "version": version, "app": name}
}

// originalWorkload creates a Deployment and its Service as the original
// Environment Operator made them: selected by creator and name.
func originalWorkload(t *testing.T, c kubernetes.Interface, ns, name, version string, replicas int32) {
	t.Helper()
	sel := map[string]string{"creator": "pipeline", "name": name}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: originalLabels(name, version)},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: sel},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: originalLabels(name, version)},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: name, Image: name + ":" + version,
					Ports: []corev1.ContainerPort{{ContainerPort: 80, Protocol: corev1.ProtocolTCP}},
				}}},
			},
		},
	}
	create := metav1.CreateOptions{FieldManager: originalManager}
	if _, err := c.AppsV1().Deployments(ns).Create(t.Context(), d, create); err != nil {
		t.Fatal(err)
	}
	originalService(t, c, ns, name, name, map[string]string{"deployment_method": "rolling-upgrade"})
}

// originalService creates a Service as the original made it, selecting the
// pods of workload.
func originalService(t *testing.T, c kubernetes.Interface, ns, name, workload string, annotations map[string]string) {
	t.Helper()
	labels := originalLabels(name, "")
	delete(labels, "app")
	s := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels, Annotations: annotations},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"creator": "pipeline", "name": workload},
			Ports:    []corev1.ServicePort{{Name: "http-80", Port: 80, TargetPort: intstr.FromInt32(80)}},
		},
	}
	if _, err := c.CoreV1().Services(ns).Create(t.Context(), s, metav1.CreateOptions{FieldManager: originalManager}); err != nil {
		t.Fatal(err)
	}
}

const takeoverFile = `project: shop
environments:
  - name: e2e
    namespace: NS
    services:
      - name: web
        version: "1.0.0"
        port: 80
        replicas: 2
      - name: api
        version: "1.0.1"
        port: 80
        deployment:
          method: bluegreen
          active: green
`

// sampler reads, every 100 ms, the ready endpoints of Services and the
// available replicas of Deployments, and remembers every sample at zero.
type sampler struct {
	start   time.Time
	mu      sync.Mutex
	samples int
	zeros   []string
}

func (s *sampler) run(ctx context.Context, c kubernetes.Interface, ns string, services, deployments []string) {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		var zeros []string
		at := time.Since(s.start).Round(time.Millisecond)
		for _, name := range services {
			if n, err := readyEndpoints(ctx, c, ns, name); err != nil || n == 0 {
				zeros = append(zeros, fmt.Sprintf("+%v Service %s: %d ready endpoints (%v)", at, name, n, err))
			}
		}
		for _, name := range deployments {
			d, err := c.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
			if err != nil || d.Status.AvailableReplicas == 0 {
				zeros = append(zeros, fmt.Sprintf("+%v Deployment %s: 0 available (%v)", at, name, err))
			}
		}
		if ctx.Err() != nil {
			return
		}
		s.mu.Lock()
		s.samples++
		s.zeros = append(s.zeros, zeros...)
		s.mu.Unlock()
	}
}

// readyEndpoints counts the ready endpoints of a Service's EndpointSlices.
func readyEndpoints(ctx context.Context, c kubernetes.Interface, ns, service string) (int, error) {
	slices, err := c.DiscoveryV1().EndpointSlices(ns).List(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=" + service})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, s := range slices.Items {
		for _, ep := range s.Endpoints {
			if ep.Conditions.Ready != nil && *ep.Conditions.Ready {
				n++
			}
		}
	}
	return n, nil
}

// TestTakeOverOriginalWithoutDowntime: a namespace the original
// Environment Operator ran (a rolling service, a blue/green pair serving
// green, a gist ConfigMap, and a service the file no longer lists) is taken
// over by envop with the equivalent file, with no flag and no adopt: every
// Service keeps ready endpoints and every Deployment available replicas,
// sampled every 100 ms, through the takeover, a deploy and a promotion.
func TestTakeOverOriginalWithoutDowntime(t *testing.T) {
	t.Parallel()
	c := testcluster.Get(t).Client
	ns := testcluster.Namespace(t)
	originalWorkload(t, c, ns, "web", "1.0.0", 2)
	originalWorkload(t, c, ns, "old", "0.9.0", 1)
	for colour, version := range map[string]string{"blue": "1.0.0", "green": "1.0.1"} {
		originalWorkload(t, c, ns, "api-"+colour, version, 1)
	}
	originalService(t, c, ns, "api", "api-green", map[string]string{"deployment_method": "bluegreen", "deployment_active": "green"})

	services := []string{"web", "api", "api-blue", "api-green"}
	deployments := []string{"web", "api-blue", "api-green"}
	deadline := time.Now().Add(60 * time.Second)
	for _, name := range services {
		for {
			n, err := readyEndpoints(t.Context(), c, ns, name)
			if err == nil && n > 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the original's Service %s never had ready endpoints (%d, %v)", name, n, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	// The original's Deployments report their pods available (the
	// deployment controller may lag the endpoints under load).
	for _, name := range deployments {
		for {
			d, err := c.AppsV1().Deployments(ns).Get(t.Context(), name, metav1.GetOptions{})
			if err == nil && d.Status.AvailableReplicas > 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the original's Deployment %s never had available replicas (%v)", name, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	checkMigrate(t, ns)

	ctx, stopSampling := context.WithCancel(t.Context())
	s := &sampler{start: time.Now()}
	sampled := make(chan struct{})
	go func() { defer close(sampled); s.run(ctx, c, ns, services, deployments) }()

	t.Logf("envop starts at +%v of the sampling", time.Since(s.start).Round(time.Millisecond))
	e := newEnvIn(t, ns, takeoverFile, nil)
	e.eventually(90*time.Second, "web and api green, taken over", func() (bool, string) {
		web, api := e.service("web"), e.service("api")
		d, err := c.AppsV1().Deployments(ns).Get(t.Context(), "web", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		managed := d.Labels["app.kubernetes.io/managed-by"] == "envop"
		return web.Status == "green" && api.Status == "green" && managed,
			fmt.Sprintf("web %s %s, api %s %s, web managed %v", web.Status, web.Reason, api.Status, api.Reason, managed)
	})
	if v := e.service("api"); v.Version != "1.0.1" {
		t.Errorf("api after the takeover drives %q, want the version green ran, 1.0.1", v.Version)
	}
	if got := selectedSelector(t, c, ns, "api"); got["name"] != "api-green" {
		t.Errorf("parent Service api selects %v after the takeover, want the original's active colour, green", got)
	}

	var records []struct{ Actor, Message string }
	e.call("GET", "/audit?service=web", nil, &records)
	audited := false
	for _, r := range records {
		audited = audited || strings.Contains(r.Message, "taken over from the original Environment Operator: web keeps selector creator=pipeline,name=web and version 1.0.0")
	}
	if !audited {
		t.Errorf("the takeover of web is not in its audit: %+v", records)
	}

	if d := e.deploy("web", "1.1.0"); d.Status != "succeeded" {
		t.Fatalf("first deploy after the takeover: %+v\n%s", d, e.logs.String())
	}
	if d := e.deploy("api", "1.2.0"); d.Status != "succeeded" {
		t.Fatalf("blue/green deploy after the takeover: %+v\n%s", d, e.logs.String())
	}
	var promoted struct{ Active string }
	if code := e.call("POST", "/promote", map[string]string{"name": "api"}, &promoted); code != 200 || promoted.Active != "blue" {
		t.Fatalf("promote = %d %+v", code, promoted)
	}
	e.eventually(30*time.Second, "traffic on blue", func() (bool, string) {
		got := selectedSelector(t, c, ns, "api")
		return got["name"] == "api-blue", fmt.Sprint(got)
	})
	time.Sleep(2 * time.Second) // keep sampling after the switch
	stopSampling()
	<-sampled

	s.mu.Lock()
	samples, zeros := s.samples, s.zeros
	s.mu.Unlock()
	t.Logf("takeover: %d samples of %d Services and %d Deployments, %d at zero", samples, len(services), len(deployments), len(zeros))
	if samples < 20 {
		t.Errorf("only %d samples: the sampler did not run through the takeover", samples)
	}
	if len(zeros) > 0 {
		t.Errorf("%d samples found a Service without ready endpoints or a Deployment without available replicas, first: %s",
			len(zeros), strings.Join(zeros[:min(5, len(zeros))], "; "))
	}

	web, err := c.AppsV1().Deployments(ns).Get(t.Context(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if sel := web.Spec.Selector.MatchLabels; len(sel) != 2 || sel["creator"] != "pipeline" || sel["name"] != "web" {
		t.Errorf("web's selector = %v, want the original's", sel)
	}
	if l := web.Spec.Template.Labels; l["app.kubernetes.io/instance"] != "web" || l["creator"] != "pipeline" || l["application"] != "" {
		t.Errorf("web's pod labels = %v: want envop's and the kept selector's, and none of the original's others", l)
	}
	if _, err := c.AppsV1().Deployments(ns).Get(t.Context(), "old", metav1.GetOptions{}); err != nil {
		t.Errorf("the original's Deployment old, not in the file, was not left alone: %v", err)
	}
	if !strings.Contains(e.logs.String(), `"original object left"`) {
		t.Errorf("the original's objects not in the file were not reported:\n%s", e.logs.String())
	}

	// With --prune-adopted they are deleted.
	e.stop()
	e.tweak = func(o *operator.Options) { o.PruneAdopted = true }
	e.start()
	e.eventually(30*time.Second, "the original's old deleted", func() (bool, string) {
		_, err := c.AppsV1().Deployments(ns).Get(t.Context(), "old", metav1.GetOptions{})
		_, serr := c.CoreV1().Services(ns).Get(t.Context(), "old", metav1.GetOptions{})
		return err != nil && serr != nil, fmt.Sprint(err, serr)
	})
	if _, err := c.AppsV1().Deployments(ns).Get(t.Context(), "web", metav1.GetOptions{}); err != nil {
		t.Errorf("web, taken over, went with --prune-adopted: %v", err)
	}
}

func selectedSelector(t *testing.T, c kubernetes.Interface, ns, name string) map[string]string {
	t.Helper()
	svc, err := c.CoreV1().Services(ns).Get(t.Context(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return svc.Spec.Selector
}

// checkMigrate runs `envop migrate` on the namespace before the takeover:
// it tells what will happen to each of the original's objects.
func checkMigrate(t *testing.T, ns string) {
	t.Helper()
	dir := t.TempDir()
	file := filepath.Join(dir, "environments.bitesize")
	if err := os.WriteFile(file, []byte(strings.ReplaceAll(takeoverFile, "NS", ns)), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	code := cli.Run(t.Context(), cli.Streams{Out: &out, Err: &errOut, Getenv: func(string) string { return "" }},
		[]string{"migrate", "--namespace", ns, "-f", file, "--kubeconfig", testcluster.Get(t).Kubeconfig, "-o", "json"})
	if code != 0 {
		t.Fatalf("envop migrate = %d\n%s%s", code, out.String(), errOut.String())
	}
	var report struct {
		Environment string
		Steps       []takeover.Step
	}
	if err := json.Unmarshal(out.Bytes(), &report); err != nil {
		t.Fatalf("envop migrate -o json: %v\n%s", err, out.String())
	}
	got := map[string]string{}
	for _, s := range report.Steps {
		got[s.Kind+" "+s.Name] = s.Action
	}
	want := map[string]string{
		"Deployment web": "keep", "Deployment api-blue": "keep", "Deployment api-green": "keep",
		"Service web": "adopt", "Service api": "keep", "Service api-blue": "adopt",
		"Deployment old": "leave", "Service old": "leave",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("envop migrate says %q for %s, want %q (all: %v)", got[k], k, v, got)
		}
	}
	if report.Environment != "e2e" {
		t.Errorf("envop migrate picked environment %q, want the one bound to the namespace", report.Environment)
	}
	var table bytes.Buffer
	cli.Run(t.Context(), cli.Streams{Out: &table, Err: &errOut, Getenv: func(string) string { return "" }},
		[]string{"migrate", "--namespace", ns, "-f", file, "--kubeconfig", testcluster.Get(t).Kubeconfig})
	t.Logf("envop migrate:\n%s", table.String())
}
