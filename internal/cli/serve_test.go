package cli

import (
	"strings"
	"testing"
)

// TestServeWithoutACluster: no kubeconfig and no in-cluster service
// account is a setting missing (exit 2), said plainly; so is a registry
// with a scheme.
func TestServeWithoutACluster(t *testing.T) {
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	t.Setenv("KUBECONFIG", "")
	base := []string{"serve", "--namespace", "shop", "--environment", "dev", "--git-repo", t.TempDir(), "--listen", "127.0.0.1:0"}
	code, _, errOut := run(t, base...)
	if code != ExitUsage || !strings.Contains(errOut, "not running in a cluster") {
		t.Errorf("exit %d, stderr %q; want 2 saying there is no cluster to reach", code, errOut)
	}
	code, _, errOut = run(t, append(base, "--registry", "https://r.example.com")...)
	if code != ExitUsage || !strings.Contains(errOut, "give r.example.com") {
		t.Errorf("registry with a scheme: exit %d, stderr %q", code, errOut)
	}
}
