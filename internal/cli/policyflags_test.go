package cli

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// policedManifest is valid, but reaches outside what a strict installer
// allows: a host of another domain, a shared Secret and another team's
// Vault path.
const policedManifest = `project: shop
environments:
  - name: dev
    namespace: shop-dev
    services:
      - name: api
        version: 1.0.0
        port: 8080
        external_url: [api.example.com, api.example.org]
        env:
          - name: DB_PASSWORD
            secret: shared-db
        tls:
          vault: team-b/api
`

func TestValidatePolicy(t *testing.T) {
	file := writeFile(t, policedManifest)
	for _, tt := range []struct {
		name string
		vars map[string]string
		args []string
		code int
		want []string
	}{
		{"no policy", nil, nil, ExitOK, []string{"valid"}},
		{"hosts", nil, []string{"--allowed-hosts", "example.com"}, ExitFailed, []string{
			file + `:9:41: environments[0].services[0].external_url[1]: host "api.example.org" is not under a host the installer allows (example.com)`}},
		{"hosts from the variable", map[string]string{"ALLOWED_HOSTS": "example.com, .example.net"}, nil, ExitFailed, []string{
			`external_url[1]: host "api.example.org" is not under a host the installer allows (example.com, .example.net)`}},
		{"the flag wins", map[string]string{"ALLOWED_HOSTS": "example.net"}, []string{"--allowed-hosts", "example.com,example.org"}, ExitOK, []string{"valid"}},
		{"secrets", nil, []string{"--allowed-secrets", "api-*"}, ExitFailed, []string{
			file + `:12:21: environments[0].services[0].env[0].secret: Secret "shared-db" matches none of the Secrets the installer allows (api-*)`}},
		{"vault", map[string]string{"VAULT_PATH_PREFIX": "/team-a/"}, nil, ExitFailed, []string{
			file + `:14:18: environments[0].services[0].tls.vault: Vault path "team-b/api" is not inside team-a/`}},
		{"every refusal", nil, []string{"--allowed-hosts", "example.com", "--allowed-secrets", "api-*", "--vault-path-prefix", "team-a"}, ExitFailed, []string{
			":9:41:", ":12:21:", ":14:18:"}},
		{"bad pattern", nil, []string{"--allowed-secrets", "[a-"}, ExitUsage, []string{`--allowed-secrets: "[a-" is not a pattern`}},
		{"bad host", map[string]string{"ALLOWED_HOSTS": "*.example.com"}, nil, ExitUsage, []string{`--allowed-hosts: "*.example.com" is not a host suffix`}},
		{"bad prefix", nil, []string{"--vault-path-prefix", "a/../b"}, ExitUsage, []string{`--vault-path-prefix: "a/../b" is not a Vault path`}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runEnv(t, tt.vars, append([]string{"validate", "-f", file}, tt.args...)...)
			if code != tt.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tt.code, errOut)
			}
			for _, w := range tt.want {
				if !strings.Contains(out+errOut, w) {
					t.Errorf("output does not contain %q:\n%s%s", w, out, errOut)
				}
			}
		})
	}
}

func TestValidatePolicyJSON(t *testing.T) {
	code, out, _ := run(t, "validate", "-f", writeFile(t, policedManifest), "--allowed-hosts", "example.com", "-o", "json")
	var got validateOutput
	if err := json.Unmarshal([]byte(out), &got); err != nil || code != ExitFailed {
		t.Fatalf("exit %d, stdout %q: %v", code, out, err)
	}
	if got.Valid || len(got.Diagnostics) != 1 {
		t.Fatalf("got %+v", got)
	}
	if d := got.Diagnostics[0]; d.Line != 9 || d.Col != 41 || d.Path != "environments[0].services[0].external_url[1]" || d.Severity != "error" {
		t.Errorf("diagnostic %+v", d)
	}
}

// TestRenderAndDiffRefuseWhatThePolicyRefuses: render and diff load the
// file as validate does, so they refuse what the operator would refuse.
func TestRenderAndDiffRefuseWhatThePolicyRefuses(t *testing.T) {
	file := writeFile(t, policedManifest)
	for _, tt := range []struct {
		cmd  string
		args []string
		code int
		want string
	}{
		{"render", nil, ExitOK, "kind: Ingress"},
		{"render", []string{"--allowed-hosts", "example.com"}, ExitFailed, `external_url[1]: host "api.example.org" is not under`},
		{"render", []string{"--vault-path-prefix", "/"}, ExitUsage, `--vault-path-prefix: "/" is not a Vault path`},
		// diff loads the file before it reads the kubeconfig.
		{"diff", []string{"--allowed-secrets", "api-*"}, ExitUsage, `Secret "shared-db" matches none`},
		{"diff", []string{"--allowed-hosts", "https://example.com"}, ExitUsage, `--allowed-hosts: "https://example.com" is not a host suffix`},
	} {
		t.Run(tt.cmd+" "+strings.Join(tt.args, " "), func(t *testing.T) {
			args := append([]string{tt.cmd, "-f", file, "--env", "dev"}, tt.args...)
			if tt.cmd == "diff" {
				args = append(args, "--kubeconfig", filepath.Join(t.TempDir(), "none"))
			}
			code, out, errOut := run(t, args...)
			if code != tt.code || !strings.Contains(out+errOut, tt.want) {
				t.Errorf("exit %d (want %d), output does not contain %q:\n%s%s", code, tt.code, tt.want, out, errOut)
			}
			if tt.code != ExitOK && out != "" {
				t.Errorf("objects written for a refused file:\n%s", out)
			}
		})
	}
}
