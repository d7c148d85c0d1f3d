package cli

import (
	"errors"
	"fmt"
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
		"empty":          {"", ": empty: want an environments: map"},
		"comments only":  {"# nothing yet\n", ": empty: want an environments: map"},
		"no envs":        {"environments: {}\n", ":1: environments: no environments"},
		"null envs":      {"environments:\n", ":1: environments: no environments"},
		"missing envs":   {"other: 1\n", ":1: environments: missing"},
		"not a map":      {"- a\n", ":1: want a map holding environments:"},
		"unknown key":    {"environments:\n  staging: {endpoint: https://a, token: x, tokne: y}\n", ":2: environments.staging.tokne: unknown field (want endpoint, token,"},
		"unknown top":    {"envs: {}\n", ":1: envs: unknown field"},
		"two sources":    {"environments:\n  staging:\n    endpoint: https://a\n    token: x\n    token_env: T\n", ":5: environments.staging.token_env: token and token_env both give the token: keep one"},
		"no source":      {"environments:\n  staging: {endpoint: https://a}\n", ":2: environments.staging: no token: set one of token, token_env and token_file"},
		"empty source":   {"environments:\n  staging: {endpoint: https://a, token_env: }\n", ":2: environments.staging.token_env: empty"},
		"no endpoint":    {"environments:\n  staging: {token: x}\n", ":2: environments.staging: endpoint is required"},
		"bad endpoint":   {"environments:\n  staging:\n    endpoint: deploy.example.com\n    token: x\n", ":3: environments.staging.endpoint: "},
		"duplicate env":  {"environments:\n  staging: {endpoint: https://a, token: x}\n  staging: {endpoint: https://b, token: x}\n", ":3: environments.staging: duplicate key: already set on line 2"},
		"duplicate key":  {"environments:\n  staging:\n    endpoint: https://a\n    token: x\n    endpoint: https://b\n", ":5: environments.staging.endpoint: duplicate key: already set on line 3"},
		"wrong type":     {"environments:\n  staging: {endpoint: https://a, token: x, insecure_skip_verify: maybe}\n", `:2: environments.staging.insecure_skip_verify: want true or false, not "maybe"`},
		"list value":     {"environments:\n  staging:\n    endpoint: [https://a]\n    token: x\n", ":3: environments.staging.endpoint: want a string, not a list"},
		"entry not map":  {"environments:\n  staging: https://a\n", ":2: environments.staging: want a map"},
		"all is a name":  {"environments:\n  all: {endpoint: https://a, token: x}\n", `:2: environments.all: invalid name`},
		"odd name":       {"environments:\n  \"a b\": {endpoint: https://a, token: x}\n", `:2: environments["a b"]: invalid name`},
		"not yaml":       {"environments: [\n", ":1: invalid YAML: did not find expected node content"},
		"bad indent":     {"environments:\n  staging:\n    endpoint: https://a\n   token: x\n", ":1: invalid YAML: did not find expected key"},
		"three sources":  {"environments:\n  s: {endpoint: https://a, token_file: f, token: x, token_env: T}\n", ":2: environments.s.token_env: token_file, token and token_env all give the token: keep one"},
		"two documents":  {"environments:\n  staging: {endpoint: https://a, token: x}\n---\nfoo: 1\n", ":4: a second YAML document"},
		"every error":    {"environments:\n  a: {token: x}\n  b: {endpoint: https://b}\n", `:2: environments.a: endpoint is required`},
		"every error, b": {"environments:\n  a: {token: x}\n  b: {endpoint: https://b}\n", `:3: environments.b: no token`},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := writeConfig(t, tc.content)
			code, out, errOut := run(t, "status", "--env", "staging", "--config", cfg)
			if code != ExitUsage || !strings.Contains(errOut, cfg+tc.want) {
				t.Errorf("exit %d, stderr %q, want 2 and %q\n%s", code, errOut, cfg+tc.want, out)
			}
			if strings.Contains(errOut, "cli.") || strings.Contains(errOut, "envEntry") || strings.Contains(errOut, "unmarshal") {
				t.Errorf("stderr speaks Go, not the file: %q", errOut)
			}
		})
	}
}

// TestClientConfigEveryProblemAtOnce: parse problems (duplicate key,
// unknown key, wrong type) do not hide each other nor the problems of the
// values, and each is FILE:LINE: path: what is wrong, in file order.
func TestClientConfigEveryProblemAtOnce(t *testing.T) {
	content := `environments:
  staging:
    endpoint: https://deploy.staging.example.com
    token_env: STAGING_TOKEN
    token_env: OTHER_TOKEN
  production:
    endpoint: ftp://deploy.prod.example.com
    token_file: prod.token
    token: also-here
    tokn: typo
    insecure_skip_verify: "no"
`
	_, err := parseClientConfig("config.yaml", []byte(content))
	want := []string{
		"config.yaml:5: environments.staging.token_env: duplicate key: already set on line 4",
		"config.yaml:7: environments.production.endpoint: ",
		"config.yaml:9: environments.production.token: token_file and token both give the token: keep one",
		"config.yaml:10: environments.production.tokn: unknown field (want " + configFields + ")",
		`config.yaml:11: environments.production.insecure_skip_verify: want true or false, not "no"`,
	}
	var cfgErr *configError
	if !errors.As(err, &cfgErr) {
		t.Fatalf("err = %v, want a *configError", err)
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != len(want) {
		t.Fatalf("got %d problems, want %d:\n%v", len(lines), len(want), err)
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w) {
			t.Errorf("problem %d = %q, want %q", i, lines[i], w)
		}
	}
	if strings.Contains(err.Error(), "also-here") {
		t.Errorf("a token is in the error:\n%v", err)
	}
	if !strings.Contains(lines[1], "ftp") {
		t.Errorf("the endpoint's problem does not say what is wrong: %q", lines[1])
	}
}

// TestClientConfigProblemsBounded: a file of many problems reports the
// first ones and how many more.
func TestClientConfigProblemsBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString("environments:\n")
	for i := range maxConfigProblems + 10 {
		fmt.Fprintf(&b, "  e%d: {endpoint: https://a}\n", i)
	}
	_, err := parseClientConfig("config.yaml", []byte(b.String()))
	if err == nil || !strings.HasSuffix(err.Error(), "\n... and 10 more") ||
		strings.Count(err.Error(), "\n") != maxConfigProblems {
		t.Errorf("err = %v", err)
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
	cfg, err := parseClientConfig("config.yaml", []byte("environments:\n  zeta: {endpoint: https://z, token: x}\n  alpha: {endpoint: https://a, token: x}\n  mid: {endpoint: https://m, token: x}\n"))
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
