package cli

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"
	"sigs.k8s.io/yaml"
)

func TestRender(t *testing.T) {
	valid, invalid := writeFile(t, validManifest), writeFile(t, invalidManifest)
	t.Run("yaml", func(t *testing.T) {
		code, out, errOut := run(t, "render", "-f", valid, "--env", "dev", "--registry", "reg.example.com",
			"--pull-secrets", "a,b", "--version", "api=2.0.0")
		if code != ExitOK {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		docs := strings.Split(out, "---\n")
		if len(docs) != 2 {
			t.Fatalf("want Deployment and Service, got %d documents:\n%s", len(docs), out)
		}
		var dep map[string]any
		if err := yaml.Unmarshal([]byte(docs[0]), &dep); err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"image: reg.example.com/api:2.0.0", "- name: a", "- name: b", "kind: Deployment"} {
			if !strings.Contains(docs[0], want) {
				t.Errorf("deployment lacks %q:\n%s", want, docs[0])
			}
		}
	})
	t.Run("json list and skipped", func(t *testing.T) {
		code, out, errOut := run(t, "render", "-f", valid, "--env", "prod", "-o", "json")
		if code != ExitOK {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		var list struct {
			Kind  string           `json:"kind"`
			Items []map[string]any `json:"items"`
		}
		if err := json.Unmarshal([]byte(out), &list); err != nil {
			t.Fatal(err)
		}
		if list.Kind != "List" || len(list.Items) != 1 || list.Items[0]["kind"] != "Service" {
			t.Errorf("want a List with only the Service, got %s", out)
		}
		if !strings.Contains(errOut, "skipped api (service api): no version") {
			t.Errorf("stderr lacks the skipped workload: %q", errOut)
		}
	})
	for _, tt := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"invalid file", []string{"render", "-f", invalid, "--env", "dev"}, ExitFailed, "replcas: unknown field"},
		{"missing env", []string{"render", "-f", valid}, ExitUsage, "--env NAME is required"},
		{"unknown env", []string{"render", "-f", valid, "--env", "qa"}, ExitUsage, `environment "qa" not found`},
		{"bad storage class", []string{"render", "-f", valid, "--env", "dev", "--storage-class", "ebs"}, ExitUsage, "--storage-class ebs: want TYPE=CLASS"},
		{"bad default", []string{"render", "-f", valid, "--env", "dev", "--default-cpu-limit", "lots"}, ExitUsage, "--default-cpu-limit lots: invalid quantity"},
		{"bad output", []string{"render", "-f", valid, "--env", "dev", "-o", "toml"}, ExitUsage, "unknown output format"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errOut := run(t, tt.args...)
			if code != tt.code || !strings.Contains(errOut, tt.want) {
				t.Errorf("exit %d (want %d), stderr %q (want %q)", code, tt.code, errOut, tt.want)
			}
		})
	}
}

// overridesManifest has a rolling service, a blue/green one and an Ingress.
const overridesManifest = `project: shop
environments:
  - name: dev
    namespace: shop-dev
    access:
      - group: devs
        role: view
    services:
      - name: api
        version: 1.0.0
        port: 8080
        external_url: api.example.com
      - name: web
        version: 2.0.0
        port: 8080
        deployment:
          method: bluegreen
`

func TestRenderSettingsFromEnvironment(t *testing.T) {
	file := writeFile(t, overridesManifest)
	for _, tt := range []struct {
		name string
		vars map[string]string
		args []string
		want []string
	}{
		{"variables", map[string]string{"DOCKER_REGISTRY": "reg.example.com:5000", "PROJECT": "team",
			"DOCKER_PULL_SECRETS": "a, b", "INGRESS_CLASS": "internal", "OIDC_GROUPS_PREFIX": "oidc:"}, nil,
			[]string{"image: reg.example.com:5000/team/api:1.0.0", "- name: a\n", "- name: b\n", "ingressClassName: internal",
				"name: oidc:devs"}},
		{"flags win", map[string]string{"DOCKER_REGISTRY": "reg.example.com", "PROJECT": "team",
			"DOCKER_PULL_SECRETS": "a", "INGRESS_CLASS": "internal", "OIDC_GROUPS_PREFIX": "oidc:"},
			[]string{"--registry", "other.example.com", "--project", "", "--pull-secrets", "c", "--ingress-class", "public",
				"--oidc-groups-prefix", "corp:"},
			[]string{"image: other.example.com/api:1.0.0", "- name: c\n", "ingressClassName: public", "name: corp:devs"}},
		{"empty variables are unset", map[string]string{"DOCKER_REGISTRY": "", "PROJECT": ""}, nil,
			[]string{"image: api:1.0.0", "name: devs\n"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runEnv(t, tt.vars, append([]string{"render", "-f", file, "--env", "dev"}, tt.args...)...)
			if code != ExitOK {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			for _, want := range tt.want {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
			if tt.name == "flags win" && (strings.Contains(out, "reg.example.com/") || strings.Contains(out, "- name: a\n")) {
				t.Errorf("a variable won over its flag:\n%s", out)
			}
		})
	}
}

// TestSettingsAreServes: serve, render and diff bind the same rendering
// settings, each flag with the same help, default, type and variable, so
// that render and diff render what serve does.
func TestSettingsAreServes(t *testing.T) {
	settings := pflag.NewFlagSet("settings", pflag.ContinueOnError)
	(&renderSettings{}).bind(settings)
	for _, cmd := range []string{"serve", "render", "diff"} {
		root := newRoot(Streams{})
		c, _, err := root.Find([]string{cmd})
		if err != nil {
			t.Fatal(err)
		}
		settings.VisitAll(func(want *pflag.Flag) {
			got := c.Flags().Lookup(want.Name)
			switch {
			case got == nil:
				t.Errorf("%s has no --%s", cmd, want.Name)
			case got.Usage != want.Usage || got.DefValue != want.DefValue || got.Value.Type() != want.Value.Type() ||
				variableOf(got) != variableOf(want):
				t.Errorf("%s --%s: %q default %q (%s) [%s], want %q default %q (%s) [%s]", cmd, want.Name,
					got.Usage, got.DefValue, got.Value.Type(), variableOf(got),
					want.Usage, want.DefValue, want.Value.Type(), variableOf(want))
			}
		})
	}
	for _, name := range []string{"registry", "pull-secrets", "storage-class", "default-cpu-limit", "default-memory-request"} {
		if settings.Lookup(name) == nil {
			t.Errorf("the settings lack --%s", name)
		}
	}
}

func TestRenderRefusesBadSettings(t *testing.T) {
	file := writeFile(t, overridesManifest)
	for _, tt := range []struct {
		name string
		vars map[string]string
		args []string
		want string
	}{
		{"registry flag with a scheme", nil, []string{"--registry", "https://reg.example.com/"},
			"--registry https://reg.example.com/: an image registry has no scheme: give reg.example.com"},
		{"registry variable with a scheme", map[string]string{"DOCKER_REGISTRY": "http://reg.example.com:5000"}, nil,
			"DOCKER_REGISTRY=http://reg.example.com:5000: an image registry has no scheme: give reg.example.com:5000"},
		{"unknown service", nil, []string{"--version", "nosuch=1"},
			`--version nosuch=1: environment "dev" has no service "nosuch"`},
		{"blue/green parent", nil, []string{"--version", "web=3.0.0"},
			`--version web=3.0.0: service "web" is blue/green: give the colour, --version web-blue=3.0.0 or --version web-green=3.0.0`},
		{"colour of a rolling service", nil, []string{"--version", "api-green=3"},
			`--version api-green=3: service "api" is not blue/green: give --version api=3`},
		{"bad version", nil, []string{"--version", "api=1.0/beta"},
			`--version api=1.0/beta: version "1.0/beta": `},
		{"unknown colour", nil, []string{"--active", "web=purple"}, "--active web=purple: the colour is blue or green"},
		{"active of a rolling service", nil, []string{"--active", "api=green"}, `--active api=green: service "api" is not blue/green`},
		{"active of an unknown service", nil, []string{"--active", "nosuch=blue"}, `--active nosuch=blue: environment "dev" has no service "nosuch"`},
	} {
		for _, cmd := range []string{"render", "diff"} {
			t.Run(cmd+" "+tt.name, func(t *testing.T) {
				// diff checks its flags before it reads the kubeconfig.
				args := append([]string{cmd, "-f", file, "--env", "dev", "--kubeconfig", filepath.Join(t.TempDir(), "none")}, tt.args...)
				if cmd == "render" {
					args = append([]string{cmd, "-f", file, "--env", "dev"}, tt.args...)
				}
				code, out, errOut := runEnv(t, tt.vars, args...)
				if code != ExitUsage || !strings.Contains(errOut, tt.want) || out != "" {
					t.Errorf("exit %d (want 2), stdout %q, stderr %q (want %q)", code, out, errOut, tt.want)
				}
			})
		}
	}
	t.Run("every bad override at once", func(t *testing.T) {
		code, _, errOut := run(t, "render", "-f", file, "--env", "dev", "--version", "nosuch=1", "--active", "web=red")
		if code != ExitUsage || !strings.Contains(errOut, "--version nosuch=1") || !strings.Contains(errOut, "--active web=red") {
			t.Errorf("exit %d, stderr %q", code, errOut)
		}
	})
}

func TestRenderOverrides(t *testing.T) {
	file := writeFile(t, overridesManifest)
	code, out, errOut := run(t, "render", "-f", file, "--env", "dev", "-o", "json",
		"--version", "api=1.1.0", "--version", "web-green=3.0.0", "--active", "web=green")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var list struct {
		Items []struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
			Spec struct {
				Selector map[string]any `json:"selector"`
				Template struct {
					Spec struct {
						Containers []struct {
							Image string `json:"image"`
						} `json:"containers"`
					} `json:"spec"`
				} `json:"template"`
			} `json:"spec"`
		} `json:"items"`
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatal(err)
	}
	images, selectors := map[string]string{}, map[string]string{}
	for _, it := range list.Items {
		switch it.Kind {
		case "Deployment":
			images[it.Metadata.Name] = it.Spec.Template.Spec.Containers[0].Image
		case "Service":
			selectors[it.Metadata.Name] = fmt.Sprint(it.Spec.Selector)
		}
	}
	for name, want := range map[string]string{"api": "api:1.1.0", "web-blue": "web:2.0.0", "web-green": "web:3.0.0"} {
		if images[name] != want {
			t.Errorf("Deployment %s runs %q, want %q", name, images[name], want)
		}
	}
	if selectors["web"] != selectors["web-green"] || selectors["web"] == selectors["web-blue"] {
		t.Errorf("Service web selects %s, want web-green's %s", selectors["web"], selectors["web-green"])
	}
}
