package cli

import (
	"encoding/json"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/envop/envop/internal/install"
)

func TestInstall(t *testing.T) {
	t.Run("yaml", func(t *testing.T) {
		code, out, errOut := run(t, "install", "--namespace", "shop-dev", "--environment", "dev",
			"--git-repo", "https://git.example.com/shop/envs.git", "--git-branch", "main", "--image", "reg.example.com/envop:v9")
		if code != ExitOK {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		if !strings.HasPrefix(out, "# Environment Operator for namespace shop-dev") || !strings.Contains(out, "create secret generic envop-tokens") {
			t.Errorf("header missing:\n%s", out)
		}
		docs := strings.Split(out, "---\n")[1:]
		var kinds []string
		for _, d := range docs {
			var obj struct {
				Kind     string
				Metadata struct{ Namespace string }
			}
			if err := yaml.Unmarshal([]byte(d), &obj); err != nil {
				t.Fatal(err)
			}
			if obj.Metadata.Namespace != "shop-dev" {
				t.Errorf("%s in namespace %q", obj.Kind, obj.Metadata.Namespace)
			}
			kinds = append(kinds, obj.Kind)
		}
		if strings.Join(kinds, ",") != "ServiceAccount,Role,RoleBinding,Deployment,Service" {
			t.Errorf("kinds = %v", kinds)
		}
		for _, want := range []string{"image: reg.example.com/envop:v9", "value: https://git.example.com/shop/envs.git", "value: dev", "value: main",
			"name: METRICS_LISTEN\n          value: :9090", "containerPort: 9090\n          name: metrics"} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q", want)
			}
		}
	})
	t.Run("metrics on the API's port", func(t *testing.T) {
		code, out, errOut := run(t, "install", "-n", "shop-dev", "--metrics-port", "0")
		if code != ExitOK {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		if strings.Contains(out, "METRICS_LISTEN") || strings.Contains(out, "name: metrics") {
			t.Errorf("--metrics-port 0 still gives metrics a port:\n%s", out)
		}
	})
	t.Run("json and default image", func(t *testing.T) {
		code, out, errOut := run(t, "install", "-n", "shop-dev", "-o", "json", "--auth-token-secret", "")
		if code != ExitOK {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		var list struct {
			Kind  string
			Items []map[string]any
		}
		if err := json.Unmarshal([]byte(out), &list); err != nil {
			t.Fatal(err)
		}
		if list.Kind != "List" || len(list.Items) != 5 {
			t.Errorf("want a List of 5, got %s with %d", list.Kind, len(list.Items))
		}
		if !strings.Contains(out, `"image": "`+install.DefaultImage()+`"`) || strings.Contains(out, "AUTH_TOKEN_FILE") {
			t.Errorf("default image or token file wrong:\n%s", out)
		}
		if !strings.Contains(errOut, "# Environment Operator for namespace shop-dev") || !strings.Contains(errOut, "ENVIRONMENT_NAME (--environment)") {
			t.Errorf("stderr lacks the header: %q", errOut)
		}
	})
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"no namespace", []string{"install"}, "--namespace is required"},
		{"bad namespace", []string{"install", "-n", "Shop"}, `--namespace "Shop"`},
		{"bad output", []string{"install", "-n", "shop", "-o", "toml"}, "unknown output format"},
		{"metrics on the API's port", []string{"install", "-n", "shop", "--metrics-port", "8080"}, "--metrics-port 8080"},
		{"argument", []string{"install", "-n", "shop", "extra"}, "unknown command"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errOut := run(t, tt.args...)
			if code != ExitUsage || !strings.Contains(errOut, tt.want) {
				t.Errorf("exit %d, stderr %q (want %d, %q)", code, errOut, ExitUsage, tt.want)
			}
		})
	}
}
