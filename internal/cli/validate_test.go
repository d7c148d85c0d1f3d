package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// run runs the command line with no variables of settings set, whatever
// the environment of the tests.
func run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	return runEnv(t, nil, args...)
}

// runEnv runs the command line with the variables of env: settings read
// these, never the process's environment.
func runEnv(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	getenv := func(name string) string { return env[name] }
	code = Run(t.Context(), Streams{In: strings.NewReader(""), Out: &out, Err: &errOut, Getenv: getenv}, args)
	return code, out.String(), errOut.String()
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "environments.bitesize")
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

const validManifest = `project: shop
environments:
  - name: dev
    namespace: shop-dev
    services:
      - name: api
        version: 1.0.0
        port: 8080
        env:
          - name: UPSTREAM
            value: https://payments.example.com
  - name: prod
    namespace: shop-prod
    services:
      - name: api
        port: 8080
`

const invalidManifest = `project: shop
environments:
  - name: dev
    namespace: shop-dev
    services:
      - name: api
        replcas: 2
  - name: prod
    namespace: shop-prod
    services:
      - name: api
        port: 70000
`

// twiceNamed names one environment twice, each with its own mistake.
const twiceNamed = `project: shop
environments:
  - name: dev
    namespace: shop-dev
    services:
      - name: api
        replcas: 2
  - name: dev
    namespace: shop-dev
    services:
      - name: web
        port: 70000
`

func TestValidate(t *testing.T) {
	valid, invalid, twice := writeFile(t, validManifest), writeFile(t, invalidManifest), writeFile(t, twiceNamed)
	tests := []struct {
		name       string
		args       []string
		code       int
		wantOut    string
		wantErr    string
		notWantErr string
	}{
		{"valid with warning", []string{"validate", "-f", valid}, ExitOK, "valid (2 environments, 2 services, 1 warning)", ":11:20: warning: environments[0].services[0].env[0].value:", ""},
		{"invalid", []string{"validate", "-f", invalid}, ExitFailed, "", invalid + ":7:9: environments[0].services[0].replcas: unknown field", ""},
		{"invalid other env filtered", []string{"validate", "-f", invalid, "--env", "prod"}, ExitFailed, "", "environments[1].services[0].port: port 70000 out of range 1-65535", "replcas"},
		{"one name twice: both environments", []string{"validate", "-f", twice, "--env", "dev"}, ExitFailed, "", "environments[0].services[0].replcas: unknown field", ""},
		{"one name twice: the second too", []string{"validate", "-f", twice, "--env", "dev"}, ExitFailed, "", "environments[1].services[0].port: port 70000", ""},
		{"no file here", []string{"validate"}, ExitUsage, "", "give -f FILE (there is no environments.bitesize", ""},
		{"file as argument", []string{"validate", invalid}, ExitFailed, "", invalid + ":7:9: environments[0].services[0].replcas: unknown field", ""},
		{"two files", []string{"validate", "-f", valid, invalid}, ExitUsage, "", "two manifest files", ""},
		{"yaml", []string{"validate", valid, "-o", "yaml"}, ExitOK, "valid: true", "", ""},
		{"unreadable", []string{"validate", "-f", filepath.Join(t.TempDir(), "nope")}, ExitUsage, "", "read manifest", ""},
		{"unknown env", []string{"validate", "-f", valid, "--env", "qa"}, ExitUsage, "", `environment "qa" not found`, ""},
		{"bad output", []string{"validate", "-f", valid, "-o", "xml"}, ExitUsage, "", "unknown output format", ""},
		{"unknown flag", []string{"validate", "--nope"}, ExitUsage, "", "unknown flag", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := run(t, tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tt.code, errOut)
			}
			if !strings.Contains(out, tt.wantOut) {
				t.Errorf("stdout %q does not contain %q", out, tt.wantOut)
			}
			if !strings.Contains(errOut, tt.wantErr) {
				t.Errorf("stderr %q does not contain %q", errOut, tt.wantErr)
			}
			if tt.notWantErr != "" && strings.Contains(errOut, tt.notWantErr) {
				t.Errorf("stderr %q contains %q", errOut, tt.notWantErr)
			}
		})
	}
}

func TestValidateJSON(t *testing.T) {
	code, out, _ := run(t, "validate", "-f", writeFile(t, invalidManifest), "-o", "json")
	if code != ExitFailed {
		t.Fatalf("exit %d, want 1", code)
	}
	var got validateOutput
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, out)
	}
	if got.Valid || len(got.Diagnostics) != 2 {
		t.Fatalf("got %+v", got)
	}
	d := got.Diagnostics[0]
	if d.Line != 7 || d.Col != 9 || d.Path != "environments[0].services[0].replcas" || d.Message != "unknown field: did you mean replicas?" || d.Severity != "error" {
		t.Errorf("first diagnostic %+v", d)
	}
}

// TestValidateDefaultFile: without -f or an argument, environments.bitesize
// in the current folder is read.
func TestValidateDefaultFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "environments.bitesize"), []byte(validManifest), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	code, out, errOut := run(t, "validate")
	if code != ExitOK || !strings.HasPrefix(out, "environments.bitesize: valid") {
		t.Errorf("exit %d\n%s%s", code, out, errOut)
	}
}
