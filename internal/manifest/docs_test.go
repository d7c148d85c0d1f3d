package manifest

import (
	"encoding/json"
	"os"
	"regexp"
	"sort"
	"testing"

	"github.com/envop/envop/schema"
)

// TestDocsNameEveryField keeps docs/manifest.md from drifting: every field
// the schema (and so the loader) knows is named in the reference.
func TestDocsNameEveryField(t *testing.T) {
	doc, err := os.ReadFile("../../docs/manifest.md")
	if err != nil {
		t.Fatal(err)
	}
	var s struct {
		Defs map[string]struct {
			Properties map[string]json.RawMessage `json:"properties"`
		} `json:"$defs"`
	}
	if err := json.Unmarshal(schema.Environments, &s); err != nil {
		t.Fatal(err)
	}
	var missing []string
	seen := map[string]bool{}
	for _, def := range s.Defs {
		for name := range def.Properties {
			if seen[name] {
				continue
			}
			seen[name] = true
			if !regexp.MustCompile(`(^|[^A-Za-z_])` + regexp.QuoteMeta(name) + `($|[^A-Za-z_])`).Match(doc) {
				missing = append(missing, name)
			}
		}
	}
	sort.Strings(missing)
	if len(seen) < 50 {
		t.Fatalf("only %d fields found in the schema: is it read right?", len(seen))
	}
	if len(missing) > 0 {
		t.Errorf("docs/manifest.md does not name these fields: %v", missing)
	}
}
