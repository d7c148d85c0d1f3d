package localcluster_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/envop/envop/internal/testcluster"
)

// TestRestartAPIServer is not parallel: Go runs it before the parallel
// tests resume, so none of them sees the outage.
func TestRestartAPIServer(t *testing.T) {
	c := testcluster.Get(t)
	pidFile := filepath.Join(c.Dir, "pids", "kube-apiserver.pid")
	before, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "survives-restart"}, Data: map[string]string{"k": "v"}}
	if _, err := c.Client.CoreV1().ConfigMaps("default").Create(t.Context(), cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := c.RestartAPIServer(t.Context()); err != nil {
		t.Fatalf("RestartAPIServer: %v", err)
	}
	after, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(string(before)) == strings.TrimSpace(string(after)) {
		t.Fatalf("kube-apiserver pid %s unchanged: not restarted", after)
	}
	got, err := c.Client.CoreV1().ConfigMaps("default").Get(t.Context(), "survives-restart", metav1.GetOptions{})
	if err != nil || got.Data["k"] != "v" {
		t.Fatalf("after restart: %v %v", got, err)
	}
	_ = c.Client.CoreV1().ConfigMaps("default").Delete(t.Context(), "survives-restart", metav1.DeleteOptions{})
}
