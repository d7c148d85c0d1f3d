package client

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// linkedNever are the packages a client of the API must not link: the
// operator's parts and Kubernetes' client libraries. The shapes it needs
// are package apitypes'.
var linkedNever = []string{
	"github.com/envop/envop/internal/api",
	"github.com/envop/envop/internal/apply",
	"github.com/envop/envop/internal/controller",
	"github.com/envop/envop/internal/deploy",
	"github.com/envop/envop/internal/health",
	"github.com/envop/envop/internal/operator",
	"github.com/envop/envop/internal/render",
	"github.com/envop/envop/internal/state",
	"github.com/envop/envop/internal/status",
	"github.com/envop/envop/internal/vault",
	"k8s.io/",
	"sigs.k8s.io/",
}

// TestLinksNothingOfTheOperator lists the package's dependencies with the
// go command of the toolchain that built the test.
func TestLinksNothingOfTheOperator(t *testing.T) {
	goCmd := filepath.Join(runtime.GOROOT(), "bin", "go")
	out, err := exec.CommandContext(t.Context(), goCmd, "list", "-deps", ".").Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			t.Fatalf("go list -deps: %v\n%s", err, ee.Stderr)
		}
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	if len(deps) == 0 {
		t.Fatal("go list -deps listed nothing")
	}
	var linked []string
	for _, dep := range deps {
		for _, never := range linkedNever {
			if dep == never || strings.HasPrefix(dep, strings.TrimSuffix(never, "/")+"/") {
				linked = append(linked, dep)
				break
			}
		}
	}
	if len(linked) > 0 {
		t.Errorf("package client links %d packages it must not; the first:\n%s",
			len(linked), strings.Join(linked[:min(len(linked), 20)], "\n"))
	}
}
