package render

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/envop/envop/internal/manifest"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// goldenOptions are the settings every golden render uses.
func goldenOptions() Options {
	return Options{
		Registry:       "registry.example.com",
		PullSecrets:    []string{"regcred"},
		IngressClass:   "nginx",
		StorageClasses: map[string]string{"ebs": "gp3", "efs": "efs-sc"},
	}
}

// renderFile loads testdata/NAME.bitesize and renders its first environment.
func renderFile(t testing.TB, file string, opts Options) *Result {
	t.Helper()
	f, diags, err := manifest.LoadFS(os.DirFS("testdata"), file)
	if err != nil {
		t.Fatal(err)
	}
	if diags.HasErrors() {
		t.Fatalf("invalid testdata:\n%s", diags.Errors())
	}
	env := &f.Environments[0]
	if opts.Files, err = manifest.ReadGistFiles(os.DirFS("testdata"), file, env, nil); err != nil {
		t.Fatal(err)
	}
	res, err := Render(env, f.Project, opts)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.bitesize")
	for _, path := range files {
		name := strings.TrimSuffix(filepath.Base(path), ".bitesize")
		t.Run(name, func(t *testing.T) {
			res := renderFile(t, filepath.Base(path), goldenOptions())
			got, err := EncodeYAML(res.Objects)
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", "golden", name+".yaml")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if string(got) != string(want) {
				t.Errorf("render of %s differs from %s; run go test ./internal/render -update and review the diff\n--- got\n%s", path, golden, got)
			}
		})
	}
}
