package cli

import (
	"encoding/json"
	"strings"
	"testing"

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
		{"bad storage class", []string{"render", "-f", valid, "--env", "dev", "--storage-class", "ebs"}, ExitUsage, "want KEY=VALUE"},
		{"bad default", []string{"render", "-f", valid, "--env", "dev", "--default-cpu-limit", "lots"}, ExitUsage, "invalid quantity"},
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
