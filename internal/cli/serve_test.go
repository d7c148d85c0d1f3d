package cli

import (
	"strings"
	"testing"

	"github.com/spf13/pflag"
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

// TestServeMetricsListen: --metrics-listen, or METRICS_LISTEN, gives
// /metrics an address of its own; by default it has none (it stays on
// --listen), and the flag given empty overrides the variable.
func TestServeMetricsListen(t *testing.T) {
	parse := func(args ...string) string {
		t.Helper()
		f := &serveFlags{}
		fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
		f.bind(fs)
		if err := fs.Parse(args); err != nil {
			t.Fatal(err)
		}
		return f.opts.MetricsListen
	}
	t.Setenv("METRICS_LISTEN", "")
	if got := parse(); got != "" {
		t.Errorf("default = %q, want none", got)
	}
	if got := parse("--metrics-listen", ":9090"); got != ":9090" {
		t.Errorf("--metrics-listen :9090 = %q", got)
	}
	t.Setenv("METRICS_LISTEN", ":9100")
	if got := parse(); got != ":9100" {
		t.Errorf("METRICS_LISTEN=:9100 gives %q", got)
	}
	if got := parse("--metrics-listen", ""); got != "" {
		t.Errorf("--metrics-listen \"\" over METRICS_LISTEN = %q, want none", got)
	}
}
