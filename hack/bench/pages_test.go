package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// pageCommit is the commit a results page says it measured.
var pageCommit = regexp.MustCompile(`commit ([0-9a-f]{7,40})`)

// TestResultsPagesMeasureTheCode: docs/benchmarks.md and
// docs/reliability.md each state the commit they measured; no commit since
// may have changed what they measure (the code the envop binary or the
// trials are built from, the benchmark program, the trials themselves, the
// module's requirements), or the page is stale and must be regenerated
// (make bench, make trials). Tests of the measured packages do not count,
// but the trials are tests.
func TestResultsPagesMeasureTheCode(t *testing.T) {
	root := gitOut(t, ".", "rev-parse", "--show-toplevel")
	for _, page := range []struct {
		file, regenerate string
		// built are the packages whose code (not tests) is measured;
		// whole are folders measured whole, tests included.
		built []string
		test  bool
		whole []string
	}{
		{"docs/benchmarks.md", "make bench", []string{"./cmd/envop", "./hack/bench"}, false, nil},
		{"docs/reliability.md", "make trials", []string{"./internal/trials"}, true, []string{"internal/trials"}},
	} {
		text, err := os.ReadFile(filepath.Join(root, page.file))
		if err != nil {
			t.Fatal(err)
		}
		m := pageCommit.FindSubmatch(text)
		if m == nil {
			t.Errorf("%s states no commit it measured", page.file)
			continue
		}
		commit := string(m[1])
		if exec.Command("git", "-C", root, "cat-file", "-e", commit+"^{commit}").Run() != nil {
			t.Skipf("%s measured commit %s, which this clone does not hold (a shallow clone?): cannot compare", page.file, commit)
		}
		paths := []string{"go.mod", "go.sum"}
		for _, dir := range measuredDirs(t, root, page.built, page.test) {
			paths = append(paths, dir)
		}
		spec := append([]string{"log", "--format=%h %s", commit + "..HEAD", "--"}, paths...)
		spec = append(spec, ":(exclude)*_test.go")
		changed := gitOut(t, root, spec...)
		if len(page.whole) > 0 {
			whole := gitOut(t, root, append([]string{"log", "--format=%h %s", commit + "..HEAD", "--"}, page.whole...)...)
			changed = strings.TrimSpace(changed + "\n" + whole)
		}
		if changed != "" {
			t.Errorf("%s measured commit %s, but what it measures changed since; regenerate it (%s):\n%s",
				page.file, commit, page.regenerate, changed)
		}
	}
}

// measuredDirs are the folders, relative to root, of the module's packages
// that pkgs are built from (with their tests' imports when test).
func measuredDirs(t *testing.T, root string, pkgs []string, test bool) []string {
	t.Helper()
	args := []string{"list", "-deps", "-f", `{{if .Module}}{{if eq .Module.Path "github.com/envop/envop"}}{{.Dir}}{{end}}{{end}}`}
	if test {
		args = append(args, "-test")
	}
	cmd := exec.Command("go", append(args, pkgs...)...)
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list the measured packages: %v", err)
	}
	seen := map[string]bool{}
	var dirs []string
	for _, dir := range strings.Fields(string(out)) {
		rel, err := filepath.Rel(root, dir)
		if err != nil || seen[rel] {
			continue
		}
		seen[rel] = true
		dirs = append(dirs, filepath.ToSlash(rel))
	}
	if len(dirs) == 0 {
		t.Fatalf("no measured package found for %v", pkgs)
	}
	return dirs
}

// gitOut runs git in dir and returns its trimmed output; without git the
// test cannot tell and fails.
func gitOut(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).Output()
	if err != nil {
		t.Fatalf("git %s: %v", strings.Join(args, " "), err)
	}
	return strings.TrimSpace(string(out))
}
