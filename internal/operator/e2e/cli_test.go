package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/envop/envop/internal/localcluster"
	"github.com/envop/envop/internal/testbin"
	"github.com/envop/envop/internal/testcluster"
)

// envopBinary is the real binary the way users get it: the one make test
// built, or one built for this test.
func envopBinary(t *testing.T) string {
	t.Helper()
	bin, err := testbin.Envop(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// run runs the binary with env added to this process's environment and
// returns its output and exit code.
func run(t *testing.T, bin string, env []string, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(append(os.Environ(), "CI=true"), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return out.String(), 0
	case errors.As(err, &exit):
		return out.String(), exit.ExitCode()
	default:
		t.Fatalf("run envop %v: %v", args, err)
		return "", -1
	}
}

// secondCluster starts another, separate control plane for this test.
func secondCluster(t *testing.T) *localcluster.Cluster {
	t.Helper()
	bin, err := testcluster.BinDir()
	if err != nil {
		t.Fatal(err)
	}
	c, err := localcluster.Start(t.Context(), localcluster.Config{BinDir: bin, Dir: t.TempDir()})
	if err != nil {
		t.Fatalf("start the second cluster: %v", err)
	}
	t.Cleanup(c.Stop)
	return c
}

func versionIn(t *testing.T, e *env, c *localcluster.Cluster, name string) string {
	t.Helper()
	d, err := c.Client.AppsV1().Deployments(e.ns).Get(t.Context(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	img := d.Spec.Template.Spec.Containers[0].Image
	return img[strings.LastIndex(img, ":")+1:]
}

// TestCLIPromotionAcrossTwoClusters drives the real binary through staging
// (this package's cluster) and production (a second cluster): the exit-code
// matrix, and a failure in staging that leaves production untouched.
func TestCLIPromotionAcrossTwoClusters(t *testing.T) {
	t.Parallel()
	bin := envopBinary(t)
	staging := newEnv(t, basic)
	prodCluster := secondCluster(t)
	ns := staging.ns // same name on the other cluster
	if _, err := prodCluster.Client.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	production := newEnvConfig(t, ns, prodCluster.Config, basic, nil)
	stagingCluster := testcluster.Get(t)
	for _, e := range []*env{staging, production} {
		e.eventually(60*time.Second, "web green", func() (bool, string) { s := e.service("web"); return s.Status == "green", s.Status })
	}
	config := filepath.Join(t.TempDir(), "config.yaml")
	// The child's environment, not this process's: tests run in parallel.
	childEnv := []string{"STAGING_TOKEN=" + token}
	cfg := fmt.Sprintf("environments:\n  staging: {endpoint: %s, token_env: STAGING_TOKEN}\n  production: {endpoint: %s, token: %s}\n", staging.url, production.url, token)
	if err := os.WriteFile(config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	envs := []string{"--config", config, "--env", "staging,production"}

	out, code := run(t, bin, childEnv, append([]string{"deploy", "web", "2.0.0", "--wait", "--timeout", "2m"}, envs...)...)
	if code != 0 || versionIn(t, staging, stagingCluster, "web") != "2.0.0" || versionIn(t, production, prodCluster, "web") != "2.0.0" {
		t.Fatalf("promotion: exit %d\n%s", code, out)
	}

	out, code = run(t, bin, childEnv, append([]string{"deploy", "web", "2.1.0-crashloop", "--wait", "--timeout", "2m"}, envs...)...)
	if code != 1 || !strings.Contains(out, "CrashLoopBackOff") || !strings.Contains(out, "simulated crash") {
		t.Fatalf("failing deploy: exit %d, want 1 with the reason and the crash log\n%s", code, out)
	}
	if v := versionIn(t, production, prodCluster, "web"); v != "2.0.0" {
		t.Fatalf("production changed to %s after staging failed\n%s", v, out)
	}

	out, code = run(t, bin, childEnv, "deploy", "worker", "3.0.0-slowstart", "--wait", "--timeout", "5s", "--config", config, "--env", "staging")
	if code != 70 {
		t.Fatalf("slow deploy with a short timeout: exit %d, want 70\n%s", code, out)
	}
	out, code = run(t, bin, childEnv, "deploy", "web", "2.2.0", "--endpoint", staging.url, "--token", "wrong-token")
	if code != 2 {
		t.Fatalf("wrong token: exit %d, want 2\n%s", code, out)
	}
	out, code = run(t, bin, childEnv, "status", "--endpoint", "http://"+closedPort(t), "--token", token)
	if code != 3 {
		t.Fatalf("closed port: exit %d, want 3\n%s", code, out)
	}
	out, code = run(t, bin, childEnv, append([]string{"status", "web"}, "--config", config, "--env", "staging,production")...)
	if code != 0 || strings.Count(out, "web") < 2 {
		t.Fatalf("status over two environments: exit %d\n%s", code, out)
	}
}

func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}
