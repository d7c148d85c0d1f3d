package manifest

import (
	"fmt"
	"strings"
	"testing"
)

// policyManifest references Secrets, hosts and Vault paths in every way a
// policy looks at.
const policyManifest = `project: shop
environments:
  - name: prod
    namespace: shop-prod
    deployment:
      custom_urls:
        blue: [env-blue.other.org]
    presets:
      - name: common
        env_from:
          - secret: shared-creds
    services:
      - name: api
        port: 8080
        presets: [common]
        external_url: [api.example.com, api.badexample.com]
        ssl: true
        env:
          - name: TOKEN
            secret: operator-token
          - secret: DB
            value: db-creds/password
        volumes:
          - name: app-certs
            path: /certs
            type: secret
        init_containers:
          - name: init
            image: busybox:1.36
            env:
              - name: KEY
                secret: init-key
      - name: web
        port: 80
        external_url: web.example.com
        tls_secret: operator-token
        deployment:
          method: bluegreen
          custom_urls:
            green: [web-green.example.org]
        tls:
          vault: team-a/web
      - name: cdn
        port: 80
        external_url: "*.cdn.example.com"
        tls:
          vault: /team-ab/cdn/
      - name: shop
        port: 80
        external_url: shop.example.com
        ssl: true
        deployment:
          method: bluegreen
`

func TestPolicyCheck(t *testing.T) {
	f, diags := Load("environments.bitesize", []byte(policyManifest))
	if diags.HasErrors() {
		t.Fatalf("the test file is invalid:\n%s", diags.Errors())
	}
	for _, tt := range []struct {
		name   string
		policy Policy
		want   []string // "LINE:COL PATH: part of the message", in order
	}{
		{"no policy", Policy{}, nil},
		{"own secrets", Policy{OwnSecrets: []string{"operator-token", "api-tls"}}, []string{
			`17:14 environments[0].services[0].ssl: Secret "api-tls" (where cert-manager or Vault write the certificate of Ingress "api" when tls_secret is not set) is one of the operator's own Secrets`,
			`20:21 environments[0].services[0].env[0].secret: Secret "operator-token" is one of the operator's own Secrets`,
			`36:21 environments[0].services[1].tls_secret: Secret "operator-token" (where cert-manager or Vault write the Ingress certificate) is one`,
		}},
		{"allowed secrets", Policy{AllowedSecrets: []string{"app-*", "db-*"}}, []string{
			`11:21 environments[0].presets[0].env_from[0].secret: Secret "shared-creds" matches none of the Secrets the installer allows (app-*, db-*)`,
			`17:14 environments[0].services[0].ssl: Secret "api-tls" (where cert-manager or Vault write the certificate of Ingress "api" when tls_secret is not set) matches none`,
			`20:21 environments[0].services[0].env[0].secret: Secret "operator-token" matches none`,
			`32:25 environments[0].services[0].init_containers[0].env[0].secret: Secret "init-key" matches none`,
			`36:21 environments[0].services[1].tls_secret: Secret "operator-token" (where`,
			`47:11 environments[0].services[2].tls: Secret "cdn-tls" (where cert-manager or Vault write the certificate of Ingress "cdn"`,
			`51:14 environments[0].services[3].ssl: Secret "shop-blue-tls"`,
			`51:14 environments[0].services[3].ssl: Secret "shop-green-tls"`,
			`51:14 environments[0].services[3].ssl: Secret "shop-tls"`,
		}},
		{"allowed secrets and the defaults of blue/green", Policy{AllowedSecrets: []string{"*-creds", "*-certs", "*-key", "operator-token", "???-tls", "shop-tls", "shop-?????-tls"}}, []string{
			`51:14 environments[0].services[3].ssl: Secret "shop-blue-tls" (where cert-manager or Vault write the certificate of Ingress "shop-blue" when tls_secret is not set) matches none`,
		}},
		{"host suffix", Policy{AllowedHosts: []string{"example.com"}}, []string{
			`7:16 environments[0].deployment.custom_urls.blue[0]: host "env-blue.other.org" is not under a host the installer allows (example.com)`,
			`16:41 environments[0].services[0].external_url[1]: host "api.badexample.com" is not under`,
			`40:21 environments[0].services[1].deployment.custom_urls.green[0]: host "web-green.example.org" is not under`,
		}},
		{"exact hosts, any case, and subdomains only", Policy{AllowedHosts: []string{"web.example.com", ".cdn.example.com", "API.example.com", "other.org"}}, []string{
			`16:41 environments[0].services[0].external_url[1]: host "api.badexample.com" is not under`,
			`35:23 environments[0].services[1].external_url: the blue preview host "web-blue.example.com" derived from "web.example.com" is not under a host the installer allows (web.example.com, .cdn.example.com, API.example.com, other.org): set deployment.custom_urls.blue`,
			`40:21 environments[0].services[1].deployment.custom_urls.green[0]: host "web-green.example.org" is not under`,
			`50:23 environments[0].services[3].external_url: host "shop.example.com"`,
		}},
		{"subdomains only refuses the domain", Policy{AllowedHosts: []string{".web.example.com", "cdn.example.com", "api.example.com", "org"}}, []string{
			`16:41 environments[0].services[0].external_url[1]: host "api.badexample.com"`,
			`35:23 environments[0].services[1].external_url: host "web.example.com" is not under`,
			`50:23 environments[0].services[3].external_url: host "shop.example.com"`,
		}},
		{"vault prefix with slashes", Policy{VaultPathPrefix: "/team-a/"}, []string{
			`47:18 environments[0].services[2].tls.vault: Vault path "/team-ab/cdn/" is not inside team-a/`,
		}},
		{"vault prefix by segments", Policy{VaultPathPrefix: "team-ab"}, []string{
			`42:18 environments[0].services[1].tls.vault: Vault path "team-a/web" is not inside team-ab/`,
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.policy.Check(f)
			for _, d := range got {
				if d.Severity != SeverityError {
					t.Errorf("not an error: %s", d)
				}
			}
			if len(got) != len(tt.want) {
				t.Fatalf("%d diagnostics, want %d:\n%s", len(got), len(tt.want), got)
			}
			for i, w := range tt.want {
				at, part, _ := strings.Cut(w, ": ")
				d := got[i]
				if gotAt := fmt.Sprintf("%d:%d %s", d.Line, d.Col, d.Path); gotAt != at || !strings.Contains(d.Message, part) {
					t.Errorf("diagnostic %d is %s\nwant at %s containing %q", i, d, at, part)
				}
			}
		})
	}
}

func TestPolicyHostAllowed(t *testing.T) {
	for _, tt := range []struct {
		pattern, host string
		want          bool
	}{
		{"example.com", "example.com", true},
		{"example.com", "api.example.com", true},
		{"example.com", "a.b.example.com", true},
		{"example.com", "*.example.com", true},
		{"example.com", "badexample.com", false},
		{"example.com", "example.com.evil.org", false},
		{"example.com", "example.org", false},
		{"Example.COM", "API.example.com", true},
		{".example.com", "example.com", false},
		{".example.com", "api.example.com", true},
		{".example.com", "*.example.com", true},
		{".example.com", "badexample.com", false},
		{"api.example.com", "*.example.com", false},
	} {
		if got := (Policy{AllowedHosts: []string{tt.pattern}}).hostAllowed(tt.host); got != tt.want {
			t.Errorf("pattern %q, host %q: allowed %v, want %v", tt.pattern, tt.host, got, tt.want)
		}
	}
}

func TestUnderVaultPrefix(t *testing.T) {
	for _, tt := range []struct {
		prefix, path string
		want         bool
	}{
		{"team-a", "team-a/x", true},
		{"team-a", "team-a/x/y", true},
		{"/team-a/", "team-a/x", true},
		{"team-a", "/team-a/x/", true},
		{"secret/team-a", "secret/team-a/x", true},
		{"team-a", "team-ab/x", false},
		{"team-a", "team-a", false},
		{"team-a", "team-b/x", false},
		{"team-a", "team-a/../team-b/x", false},
		{"team-a", "team-a/./x", false},
		{"team-a", "team-a//x", false},
		{"team-a", "", false},
		{"secret/team-a", "team-a/x", false},
	} {
		if got := underVaultPrefix(tt.path, tt.prefix); got != tt.want {
			t.Errorf("prefix %q, path %q: inside %v, want %v", tt.prefix, tt.path, got, tt.want)
		}
	}
}

func TestPolicyValidate(t *testing.T) {
	for _, tt := range []struct {
		name   string
		policy Policy
		want   []string // parts of the error, each on its own line; none: valid
	}{
		{"empty", Policy{}, nil},
		{"good", Policy{OwnSecrets: []string{"my-token"}, AllowedSecrets: []string{"app-*", "db-[a-z]*"},
			AllowedHosts: []string{"example.com", ".apps.example.org", "Example.NET"}, VaultPathPrefix: "/secret/team-a/"}, nil},
		{"bad secret pattern", Policy{AllowedSecrets: []string{"app-*", "[a-"}}, []string{`--allowed-secrets: "[a-" is not a pattern`}},
		{"empty secret pattern", Policy{AllowedSecrets: []string{""}}, []string{`--allowed-secrets: "" is not a pattern`}},
		{"wildcard host", Policy{AllowedHosts: []string{"*.example.com"}}, []string{`--allowed-hosts: "*.example.com" is not a host suffix`}},
		{"url host", Policy{AllowedHosts: []string{"https://example.com"}}, []string{`--allowed-hosts: "https://example.com"`}},
		{"lone dot", Policy{AllowedHosts: []string{"."}}, []string{`--allowed-hosts: "."`}},
		{"root prefix", Policy{VaultPathPrefix: "/"}, []string{`--vault-path-prefix: "/" is not a Vault path`}},
		{"dot dot prefix", Policy{VaultPathPrefix: "team-a/../team-b"}, []string{`--vault-path-prefix: "team-a/../team-b"`}},
		{"every problem at once", Policy{AllowedSecrets: []string{"["}, AllowedHosts: []string{"a b"}, VaultPathPrefix: "a//b"},
			[]string{"--allowed-secrets", "--allowed-hosts", "--vault-path-prefix"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.policy.Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want %q", tt.want)
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(tt.want) {
				t.Fatalf("error %q, want %d lines", err, len(tt.want))
			}
			for i, w := range tt.want {
				if !strings.HasPrefix(lines[i], w) {
					t.Errorf("line %q does not start with %q", lines[i], w)
				}
			}
		})
	}
}

// TestVaultPrefixUnderMount: a path may name the mount as `vault kv get`
// or the HTTP API do; the prefix is compared with what follows it.
func TestVaultPrefixUnderMount(t *testing.T) {
	for _, tt := range []struct {
		path string
		ok   bool
	}{
		{"certs/web", true},
		{"secret/certs/web", true},
		{"secret/data/certs/web", true},
		{"secret/data/other/web", false},
		{"secretx/certs/web", false},
		{"secret/data/certs/../other/web", false},
	} {
		p := Policy{VaultPathPrefix: "certs", VaultMount: "secret"}
		got := underVaultPrefix(RelativeVaultPath(tt.path, p.VaultMount), p.VaultPathPrefix)
		if got != tt.ok {
			t.Errorf("%s: inside = %v, want %v", tt.path, got, tt.ok)
		}
	}
}
