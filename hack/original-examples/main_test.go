package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestExamples runs the checker on testdata/docs, our own guide with each
// kind of block: whole files that load and do not, fragments, a block
// nested in a list, a Kubernetes object, JSON and a command.
func TestExamples(t *testing.T) {
	var out strings.Builder
	work := t.TempDir()
	err := run(t.Context(), []string{"--dir", "testdata/docs", "--work", work}, &out)
	if !errors.Is(err, errFailed) {
		t.Fatalf("run: %v, want errFailed", err)
	}
	want := `PASS  guide.md block 1 (line 5)
      guide.md:20:19: warning: environments[0].services[0].volumes[0].name: has no type and is named like gist "recipes": it mounts the gist's ConfigMap; add type: configmap to say so (the original took such a volume for a claim without size, which it could not create)
FAIL  guide.md block 2 (line 26)
      guide.md:32:9: environments[0].services[0].replcas: unknown field: did you mean replicas?
skip  guide.md block 3 (line 37): fragment, skipped
skip  guide.md block 4 (line 44): fragment, skipped
skip  guide.md block 5 (line 52): not YAML, skipped
PASS  more.md block 1 (line 5)
      more.md:13:29: warning: environments[0].services[0].hpa.min_replicas: 0 means no autoscaler, as in the original: no HorizontalPodAutoscaler is rendered and the service runs its replicas (1 unless set); remove hpa, or set min_replicas to 1 or more to autoscale
skip  more.md block 2 (line 19): JSON, skipped
skip  more.md block 3 (line 25): Kubernetes object, skipped
skip  more.md block 4 (line 34): fragment that is not valid YAML, skipped

3 whole files: 2 pass, 1 fail; skipped: 3 fragments, 3 other blocks
`
	if got := out.String(); got != want {
		t.Errorf("output:\n%s\nwant:\n%s", got, want)
	}
	// The gists the first example names were made, empty, next to it.
	for file, content := range map[string]string{
		"settings/oven.yaml": "apiVersion: v1\nkind: ConfigMap\n",
		"recipes/bread.txt":  "",
	} {
		data, err := os.ReadFile(filepath.Join(work, "guide_md-1", filepath.FromSlash(file)))
		if err != nil || string(data) != content {
			t.Errorf("%s: %q, %v", file, data, err)
		}
	}
}

func TestUsage(t *testing.T) {
	var out strings.Builder
	var usage usageError
	if err := run(t.Context(), nil, &out); !errors.As(err, &usage) {
		t.Errorf("no --dir: %v", err)
	}
	if err := run(t.Context(), []string{"--dir", t.TempDir()}, &out); !errors.As(err, &usage) || !strings.Contains(err.Error(), "no Markdown files") {
		t.Errorf("no Markdown: %v", err)
	}
}
