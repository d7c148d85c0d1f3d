package manifest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// sameTree compares two parse trees on everything the decoder reads: kinds,
// tags, values, positions, styles and children (comments are not read).
func sameTree(a, b *yaml.Node, path string) error {
	if a == nil || b == nil {
		if a != b {
			return fmt.Errorf("%s: one tree has no node", path)
		}
		return nil
	}
	if a.Kind != b.Kind || a.Tag != b.Tag || a.Value != b.Value || a.Line != b.Line || a.Column != b.Column || a.Style != b.Style || a.Anchor != b.Anchor {
		return fmt.Errorf("%s: split %v %q %q %d:%d style %v, one pass %v %q %q %d:%d style %v", path,
			a.Kind, a.Tag, a.Value, a.Line, a.Column, a.Style, b.Kind, b.Tag, b.Value, b.Line, b.Column, b.Style)
	}
	if len(a.Content) != len(b.Content) {
		return fmt.Errorf("%s (line %d): %d children split, %d in one pass", path, a.Line, len(a.Content), len(b.Content))
	}
	for i := range a.Content {
		if err := sameTree(a.Content[i], b.Content[i], fmt.Sprintf("%s/%d", path, i)); err != nil {
			return err
		}
	}
	return nil
}

// checkSplit parses data both ways; split reports whether the split ran.
func checkSplit(t *testing.T, data []byte) (split bool) {
	t.Helper()
	var want yaml.Node
	wantErr := yaml.Unmarshal(data, &want)
	got := parseSplit(data)
	if got == nil {
		return false
	}
	if wantErr != nil {
		t.Fatalf("the split parsed a file the one-pass parse rejects (%v):\n%s", wantErr, data)
	}
	if err := sameTree(got, &want, ""); err != nil {
		t.Fatalf("split parse differs: %v\n%s", err, data)
	}
	return true
}

func TestParseSplitMatchesOnePass(t *testing.T) {
	services := func(indent string, n int, extra string) string {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, "%s- name: svc-%d # the %d-th\n%s  port: %d\n%s  env:\n%s    - name: A\n%s      value: \"x, y\"\n",
				indent, i, i, indent, 8000+i, indent, indent, indent)
			if i%3 == 0 {
				fmt.Fprintf(&b, "\n%s  # a comment between fields\n%s  command: |\n%s    echo 'hi'\n%s    - not an item\n\n", indent, indent, indent, indent)
			}
			b.WriteString(extra)
		}
		return b.String()
	}
	cases := map[string]string{
		"indented items": "project: p\nenvironments:\n  - name: a\n    services:\n" + services("      ", 40, "") + "    namespace: a-ns\n",
		"compact items":  "project: p\nenvironments:\n  - name: a\n    services:\n" + services("    ", 40, "") + "    namespace: a\n  - name: b\n    services:\n" + services("    ", 7, "\n# trailing\n"),
		"last in file":   "environments:\n- name: a\n  services:\n" + services("  ", 25, "") + "\n\n# the end\n",
		"flow values":    "environments:\n- name: a\n  services:\n" + services("  ", 12, "    ports: [80, 443]\n    labels: {a: b}\n"),
		"lone dash":      "environments:\n- name: a\n  services:\n" + strings.Repeat("  -\n    name: x\n  - name: y\n", 9),
		"in block text":  "notes: |\n  services:\n  - name: x\nenvironments:\n- services:\n  - name: a\n",
		"empty list":     "environments:\n- name: a\n  services:\n  namespace: x\n",
		"empty last":     "environments:\n- name: a\n  services:\n" + strings.Repeat("  - name: x\n    env:\n  - name: y\n    ? k\n", 9) + "  namespace: n\n",
	}
	splitAny := false
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			if checkSplit(t, []byte(data)) {
				splitAny = true
			}
		})
	}
	if !splitAny {
		t.Fatal("no case took the split path")
	}
	if !checkSplit(t, []byte(cases["indented items"])) {
		t.Fatal("a plain list of services did not split")
	}
}

func TestParseSplitDeclinesWhatItCannotScan(t *testing.T) {
	base := "environments:\n- name: a\n  services:\n  - name: x\n  - name: y\n"
	for name, extra := range map[string]string{
		"anchor":          "    labels: &l {a: b}\n",
		"alias":           "  - name: z\n    labels: *l\n",
		"tag":             "    port: !!str 80\n",
		"merge":           "    <<: {a: b}\n",
		"open flow":       "    ports: [80,\n      443]\n",
		"open quote":      "    command: \"a\n  - b\"\n",
		"tab":             "    port:\t80\n",
		"document marker": "---\n",
		"carriage return": "    port: 80\r\n",
	} {
		t.Run(name, func(t *testing.T) {
			if parseSplit([]byte(base+extra)) != nil {
				t.Fatalf("split a file with %s", name)
			}
		})
	}
}

// TestParseSplitOnTestdata runs every testdata file through both parses,
// and the loader with the split forced on gives the same diagnostics.
func TestParseSplitOnTestdata(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.bitesize")
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		checkSplit(t, data)
		_, oneDiags := Load(file, data)
		old := splitMinBytes
		splitMinBytes = 0
		_, splitDiags := Load(file, data)
		splitMinBytes = old
		if a, b := fmt.Sprint(oneDiags), fmt.Sprint(splitDiags); a != b {
			t.Errorf("%s: diagnostics differ\nsplit: %s\n  one: %s", file, b, a)
		}
	}
}

// FuzzParseSplit checks that whenever the split runs, its tree is the
// one-pass tree. Each input is tried as a whole file and as the text of
// service items (indented under one item, then at the items' own indent),
// so most inputs reach the split.
func FuzzParseSplit(f *testing.F) {
	files, _ := filepath.Glob("testdata/valid-*.bitesize")
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, seed := range []string{
		"port: 80\nenv:\n  - name: A\n    value: \"b # c\"\n",
		"command: |\n  - not an item\n  x: y\n",
		"- name: other\n  port: 81\n",
		"ports: [80,\n  443]\nlabels: {a: b}\n",
		"note: 'it''s'\n# comment: [\n\n",
		"x: \"a\n- b\"\n",
		"version: 1.0\nnamespace: n\n",
	} {
		f.Add([]byte(seed))
	}
	f.Add([]byte("environments:\n- services:\n  - name: a\n    x: |\n      - y\n  - name: b\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		checkSplit(t, data)
		var b strings.Builder
		b.WriteString("project: p\nenvironments:\n  - name: e\n    services:\n      - name: s\n")
		lines := strings.Split(string(data), "\n")
		for _, l := range lines {
			b.WriteString("        " + l + "\n")
		}
		b.WriteString("      - name: t\n")
		for _, l := range lines {
			b.WriteString("      " + l + "\n")
		}
		b.WriteString("    namespace: n\n")
		checkSplit(t, []byte(b.String()))
	})
}

func TestHasDocumentMarker(t *testing.T) {
	for text, want := range map[string]bool{
		"project: p\n":                       false,
		"---\nproject: p\n":                  false, // the usual leading marker
		"# c\n\n---\nproject: p\n":           false,
		"project: p\n---\nproject: q\n":      true,
		"project: p\n...\n":                  true,
		"---\n---\n":                         true,
		"project: p\nnote: a---b\n":          false,
		"project: p\ncommand: \"x\n---y\"\n": true, // a look, not a verdict: the decoder decides
	} {
		if got := hasDocumentMarker([]byte(text)); got != want {
			t.Errorf("hasDocumentMarker(%q) = %v, want %v", text, got, want)
		}
	}
}
