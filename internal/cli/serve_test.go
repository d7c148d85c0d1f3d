package cli

import (
	"bytes"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// TestServeWithoutACluster: no kubeconfig and no in-cluster service
// account is a setting missing (exit 2), said plainly; so is a registry
// with a scheme, named as given.
func TestServeWithoutACluster(t *testing.T) {
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	t.Setenv("KUBECONFIG", "")
	base := []string{"serve", "--namespace", "shop", "--environment", "dev", "--git-repo", t.TempDir(), "--listen", "127.0.0.1:0"}
	code, _, errOut := run(t, base...)
	if code != ExitUsage || !strings.Contains(errOut, "not running in a cluster") {
		t.Errorf("exit %d, stderr %q; want 2 saying there is no cluster to reach", code, errOut)
	}
	code, _, errOut = run(t, append(base, "--registry", "https://r.example.com")...)
	if code != ExitUsage || !strings.Contains(errOut, "--registry https://r.example.com: an image registry has no scheme: give r.example.com") {
		t.Errorf("registry with a scheme: exit %d, stderr %q", code, errOut)
	}
	code, _, errOut = runEnv(t, map[string]string{"DOCKER_REGISTRY": "https://r.example.com"}, base...)
	if code != ExitUsage || !strings.Contains(errOut, "DOCKER_REGISTRY=https://r.example.com: an image registry has no scheme") {
		t.Errorf("registry variable with a scheme: exit %d, stderr %q", code, errOut)
	}
}

// parseServe parses serve's command line and completes it with the
// variables of env.
func parseServe(t *testing.T, env map[string]string, args ...string) (*serveFlags, error) {
	t.Helper()
	f := &serveFlags{}
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	f.bind(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	err := f.complete(fs, Streams{Err: &log, Getenv: func(name string) string { return env[name] }})
	return f, err
}

// TestServeMetricsListen: --metrics-listen, or METRICS_LISTEN, gives
// /metrics an address of its own; by default it has none (it stays on
// --listen), and the flag given empty overrides the variable.
func TestServeMetricsListen(t *testing.T) {
	listen := func(env map[string]string, args ...string) string {
		t.Helper()
		f, err := parseServe(t, env, args...)
		if err != nil {
			t.Fatal(err)
		}
		return f.opts.MetricsListen
	}
	if got := listen(nil); got != "" {
		t.Errorf("default = %q, want none", got)
	}
	if got := listen(nil, "--metrics-listen", ":9090"); got != ":9090" {
		t.Errorf("--metrics-listen :9090 = %q", got)
	}
	vars := map[string]string{"METRICS_LISTEN": ":9100"}
	if got := listen(vars); got != ":9100" {
		t.Errorf("METRICS_LISTEN=:9100 gives %q", got)
	}
	if got := listen(vars, "--metrics-listen", ""); got != "" {
		t.Errorf("--metrics-listen \"\" over METRICS_LISTEN = %q, want none", got)
	}
}

// TestServeRenderSettings: serve renders with the settings render and diff
// take, default resources included, from flags or variables.
func TestServeRenderSettings(t *testing.T) {
	f, err := parseServe(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := f.opts.Render
	if !maps.Equal(r.DefaultLimits, map[string]string{"cpu": "1000m", "memory": "2048Mi"}) ||
		!maps.Equal(r.DefaultRequests, map[string]string{"cpu": "100m"}) || r.Registry != "" || len(r.PullSecrets) != 0 {
		t.Errorf("defaults: %+v", r)
	}

	f, err = parseServe(t, map[string]string{"DOCKER_REGISTRY": "reg.example.com", "PROJECT": "team",
		"DOCKER_PULL_SECRETS": "a, b", "INGRESS_CLASS": "internal", "OIDC_GROUPS_PREFIX": "oidc:"},
		"--default-cpu-limit", "2", "--default-memory-limit", "1Gi", "--default-cpu-request", "",
		"--default-memory-request", "256Mi", "--storage-class", "ebs=gp3", "--pull-secrets", "c", "--pull-secrets", "d,e")
	if err != nil {
		t.Fatal(err)
	}
	r = f.opts.Render
	if !maps.Equal(r.DefaultLimits, map[string]string{"cpu": "2", "memory": "1Gi"}) ||
		!maps.Equal(r.DefaultRequests, map[string]string{"memory": "256Mi"}) {
		t.Errorf("resources: limits %v, requests %v", r.DefaultLimits, r.DefaultRequests)
	}
	if r.Registry != "reg.example.com" || r.Project != "team" || r.IngressClass != "internal" || r.OIDCGroupsPrefix != "oidc:" ||
		strings.Join(r.PullSecrets, " ") != "c d e" || r.StorageClasses["ebs"] != "gp3" {
		t.Errorf("settings: %+v", r)
	}
}

// TestServeRefusesBadSettings reports every bad setting at once, each
// named as given: flag or variable.
func TestServeRefusesBadSettings(t *testing.T) {
	_, err := parseServe(t, map[string]string{"DOCKER_REGISTRY": "http://reg.example.com"},
		"--default-memory-limit", "lots", "--storage-class", "ebs")
	for _, want := range []string{
		"DOCKER_REGISTRY=http://reg.example.com: an image registry has no scheme",
		"--default-memory-limit lots: invalid quantity",
		"--storage-class ebs: want TYPE=CLASS",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v, want it to say %q", err, want)
		}
	}
	for name, env := range map[string]map[string]string{
		`LOG_LEVEL "loud": want debug`: {"LOG_LEVEL": "loud"},
		"TRUSTED_PROXIES: ":            {"TRUSTED_PROXIES": "not-a-cidr"},
	} {
		if _, err := parseServe(t, env); err == nil || !strings.HasPrefix(err.Error(), name) {
			t.Errorf("%v: error %v, want it to start with %q", env, err, name)
		}
	}
	if _, err := parseServe(t, map[string]string{"LOG_LEVEL": "debug"}, "--log-level", "loud"); err == nil ||
		!strings.HasPrefix(err.Error(), `--log-level "loud"`) {
		t.Errorf("--log-level loud over LOG_LEVEL: error %v", err)
	}
}

// TestHelpShowsNoEnvironment: variables are read after parsing, so --help
// shows the built-in defaults, never the values of the caller's
// environment (an Ingress class is harmless, a registry less so, and
// every value is the caller's business).
func TestHelpShowsNoEnvironment(t *testing.T) {
	env := map[string]string{}
	for _, cmd := range newRoot(Streams{}).Commands() {
		cmd.Flags().VisitAll(func(f *pflag.Flag) {
			if v := variableOf(f); v != "" {
				env[v] = "secret.example/" + strings.ToLower(v)
			}
		})
	}
	env["DOCKER_REGISTRY"] = "secret.example"
	for v, value := range env {
		t.Setenv(v, value) // nor from the process's environment
	}
	for _, cmd := range []string{"serve", "render", "diff", "validate"} {
		code, out, errOut := runEnv(t, env, cmd, "--help")
		if code != ExitOK || !strings.Contains(out, "--registry") && cmd != "validate" {
			t.Fatalf("%s --help: exit %d, stdout %q, stderr %q", cmd, code, out, errOut)
		}
		if strings.Contains(out+errOut, "secret.example") {
			t.Errorf("%s --help shows a variable's value:\n%s", cmd, out)
		}
	}
}

// TestServeGistsCredentials: GISTS_USER (or --gists-user), GISTS_TOKEN,
// GISTS_PRIVATE_KEY and its passphrase fill the gists repository's
// credentials; the files of --gists-token-file and --gists-private-key-file
// win over the variables. None set leaves them empty, which lets the
// repository's serve on its own server.
func TestServeGistsCredentials(t *testing.T) {
	f, err := parseServe(t, map[string]string{"GIT_USER": "ci", "GIT_TOKEN": "git-token"})
	if err != nil {
		t.Fatal(err)
	}
	if !f.opts.GistsCredentials.IsZero() {
		t.Errorf("no GISTS_*: credentials %+v, want none", f.opts.GistsCredentials)
	}

	env := map[string]string{"GISTS_USER": "bot", "GISTS_TOKEN": "gists-token",
		"GISTS_PRIVATE_KEY": "KEY", "GISTS_PRIVATE_KEY_PASSPHRASE": "pass"}
	if f, err = parseServe(t, env); err != nil {
		t.Fatal(err)
	}
	g := f.opts.GistsCredentials
	if g.Username != "bot" || g.Token != "gists-token" || string(g.PrivateKey) != "KEY" || g.PrivateKeyPassphrase != "pass" {
		t.Errorf("from the variables: %+v", g)
	}

	dir := t.TempDir()
	tokenFile, keyFile := filepath.Join(dir, "token"), filepath.Join(dir, "key")
	if err := os.WriteFile(tokenFile, []byte("file-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, []byte("FILE KEY"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err = parseServe(t, env, "--gists-user", "flag-bot", "--gists-token-file", tokenFile, "--gists-private-key-file", keyFile)
	if err != nil {
		t.Fatal(err)
	}
	g = f.opts.GistsCredentials
	if g.Username != "flag-bot" || g.Token != "file-token" || string(g.PrivateKey) != "FILE KEY" {
		t.Errorf("from the flags: %+v", g)
	}
	_, err = parseServe(t, nil, "--gists-token-file", filepath.Join(dir, "missing"))
	if err == nil || !strings.Contains(err.Error(), "--gists-token-file") {
		t.Errorf("a missing token file: %v", err)
	}
}
