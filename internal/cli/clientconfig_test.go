package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestClientConfigTokenSources(t *testing.T) {
	api := newFakeAPI(t, "staging")
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "prod.token"), []byte(testToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("STAGING_TOKEN", testToken)
	for name, entry := range map[string]string{
		"token":               "token: " + testToken,
		"token_env":           "token_env: STAGING_TOKEN",
		"token_file absolute": "token_file: " + filepath.Join(dir, "prod.token"),
		"token_file relative": "token_file: prod.token",
	} {
		t.Run(name, func(t *testing.T) {
			cfg := filepath.Join(dir, "config.yaml")
			content := "environments:\n  staging:\n    endpoint: " + api.URL() + "\n    " + entry + "\n"
			if err := os.WriteFile(cfg, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			code, out, errOut := run(t, "status", "--env", "staging", "--config", cfg)
			if code != ExitOK || !strings.Contains(out, "staging") {
				t.Errorf("exit %d\n%s%s", code, out, errOut)
			}
		})
	}
}

func TestClientConfigFromEnvironment(t *testing.T) {
	api := newFakeAPI(t, "staging")
	t.Setenv(envConfig, writeConfig(t, "environments:\n  staging: {endpoint: "+api.URL()+", token: "+testToken+"}\n"))
	if code, out, errOut := run(t, "status", "--env", "staging"); code != ExitOK {
		t.Errorf("ENVOP_CONFIG: exit %d\n%s%s", code, out, errOut)
	}
	t.Setenv(envConfig, "")
	t.Setenv("XDG_CONFIG_HOME", "")
	t.Setenv("HOME", t.TempDir())
	code, _, errOut := run(t, "status", "--env", "staging")
	if code != ExitUsage || !strings.Contains(errOut, filepath.Join(".config", "envop", "config.yaml")) {
		t.Errorf("default path: exit %d: %s", code, errOut)
	}
}

func TestDirectFromEnvironment(t *testing.T) {
	api := newFakeAPI(t, "staging")
	t.Setenv(envEndpoint, api.URL())
	t.Setenv(envToken, testToken)
	if code, out, errOut := run(t, "status"); code != ExitOK || !strings.Contains(out, "staging") {
		t.Errorf("exit %d\n%s%s", code, out, errOut)
	}
	tokenFile := filepath.Join(t.TempDir(), "token")
	_ = os.WriteFile(tokenFile, []byte(testToken), 0o600)
	t.Setenv(envToken, "")
	if code, _, errOut := run(t, "status", "--token-file", tokenFile); code != ExitOK {
		t.Errorf("--token-file: exit %d: %s", code, errOut)
	}
}

func TestClientConfigInvalid(t *testing.T) {
	for name, tc := range map[string]struct{ content, want string }{
		"empty":          {"", "empty"},
		"no envs":        {"environments: {}\n", "no environments"},
		"unknown key":    {"environments:\n  staging: {endpoint: https://a, token: x, tokne: y}\n", "field tokne not found"},
		"unknown top":    {"envs: {}\n", "field envs not found"},
		"two sources":    {"environments:\n  staging: {endpoint: https://a, token: x, token_env: T}\n", "exactly one of token"},
		"no source":      {"environments:\n  staging: {endpoint: https://a}\n", "exactly one of token"},
		"no endpoint":    {"environments:\n  staging: {token: x}\n", "endpoint is required"},
		"bad endpoint":   {"environments:\n  staging: {endpoint: deploy.example.com, token: x}\n", "http:// or https://"},
		"duplicate":      {"environments:\n  staging: {endpoint: https://a, token: x}\n  staging: {endpoint: https://b, token: x}\n", "already defined"},
		"wrong type":     {"environments:\n  staging: {endpoint: https://a, token: x, insecure_skip_verify: maybe}\n", "cannot unmarshal"},
		"all is a name":  {"environments:\n  all: {endpoint: https://a, token: x}\n", `"all": invalid name`},
		"not yaml":       {"environments: [\n", "yaml"},
		"two documents":  {"environments:\n  staging: {endpoint: https://a, token: x}\n---\nfoo: 1\n", "more than one"},
		"every error":    {"environments:\n  a: {token: x}\n  b: {endpoint: https://b}\n", `line 2: environment "a": endpoint is required`},
		"every error, b": {"environments:\n  a: {token: x}\n  b: {endpoint: https://b}\n", `line 3: environment "b": set exactly one`},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := writeConfig(t, tc.content)
			code, out, errOut := run(t, "status", "--env", "staging", "--config", cfg)
			if code != ExitUsage || !strings.Contains(errOut, tc.want) || !strings.Contains(errOut, cfg) {
				t.Errorf("exit %d, stderr %q, want 2 and %q naming the file\n%s", code, errOut, tc.want, out)
			}
		})
	}
}

func TestClientConfigResolveErrors(t *testing.T) {
	t.Setenv("UNSET_TOKEN_VAR", "")
	cfg := writeConfig(t, `environments:
  staging: {endpoint: https://deploy.staging.example.com, token_env: UNSET_TOKEN_VAR}
  production: {endpoint: https://deploy.prod.example.com, token_file: missing.token}
  dev: {endpoint: https://dev.example.com, token: x, ca_file: missing-ca.pem}
`)
	for name, tc := range map[string]struct {
		env, want string
	}{
		"unknown environment": {"qa", `environment "qa" is not in`},
		"token_env unset":     {"staging", "token_env UNSET_TOKEN_VAR is not set"},
		"token_file missing":  {"production", "token_file"},
		"ca_file missing":     {"dev", "CA file"},
		"all and a name":      {"all,staging", "cannot be combined"},
	} {
		code, _, errOut := run(t, "status", "--env", tc.env, "--config", cfg)
		if code != ExitUsage || !strings.Contains(errOut, tc.want) {
			t.Errorf("%s: exit %d, stderr %q, want %q", name, code, errOut, tc.want)
		}
	}
}

func TestClientConfigOrder(t *testing.T) {
	cfg, err := parseClientConfig([]byte("environments:\n  zeta: {endpoint: https://z, token: x}\n  alpha: {endpoint: https://a, token: x}\n  mid: {endpoint: https://m, token: x}\n"))
	if err != nil {
		t.Fatal(err)
	}
	names, err := cfg.names([]string{"all"}, true)
	if err != nil || strings.Join(names, ",") != "zeta,alpha,mid" {
		t.Errorf("all = %v, %v; want file order", names, err)
	}
	names, err = cfg.names([]string{"mid", "zeta", "mid"}, false)
	if err != nil || strings.Join(names, ",") != "mid,zeta" {
		t.Errorf("names = %v, %v; want the order given, once each", names, err)
	}
}
