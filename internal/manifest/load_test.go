package manifest

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the expected diagnostics in testdata")

// TestInvalid loads every testdata/invalid-*.bitesize and compares all its
// diagnostics, line, column, path and message, with the sibling .err file.
func TestInvalid(t *testing.T) {
	files, _ := filepath.Glob("testdata/invalid-*.bitesize")
	if len(files) < 40 {
		t.Fatalf("want at least 40 invalid files, have %d", len(files))
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".bitesize"), func(t *testing.T) {
			got := loadDiagnostics(t, file)
			if !got.HasErrors() {
				t.Fatalf("no errors for an invalid file; diagnostics:\n%s", got)
			}
			compareGolden(t, file+".err", got.String())
		})
	}
}

// TestValid loads every testdata/valid-*.bitesize: no errors, and exactly the
// warnings in the sibling .warn file (none when it is absent).
func TestValid(t *testing.T) {
	files, _ := filepath.Glob("testdata/valid-*.bitesize")
	if len(files) == 0 {
		t.Fatal("no valid testdata")
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".bitesize"), func(t *testing.T) {
			got := loadDiagnostics(t, file)
			if got.HasErrors() {
				t.Fatalf("errors in a valid file:\n%s", got.Errors())
			}
			want := file + ".warn"
			if _, err := os.Stat(want); err != nil && len(got) == 0 && !*update {
				return
			}
			if len(got) == 0 && *update {
				os.Remove(want)
				return
			}
			compareGolden(t, want, got.String())
		})
	}
}

func loadDiagnostics(t *testing.T, file string) Diagnostics {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	_, diags := Load(filepath.Base(file), data)
	return diags
}

func compareGolden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("diagnostics differ\n--- got\n%s--- want\n%s", got, want)
	}
}

// TestLargeFileSameDiagnostics loads a 300-service file with mistakes spread
// through it on one thread and on several: the parallel split parse and
// validation must report exactly what the one-pass, one-thread load does.
func TestLargeFileSameDiagnostics(t *testing.T) {
	var b strings.Builder
	b.WriteString("project: big\nenvironments:\n  - name: prod\n    namespace: big-prod\n    services:\n")
	for i := range 300 {
		name := fmt.Sprintf("svc-%d", i)
		if i%50 == 49 {
			name = "svc-0" // duplicate
		}
		fmt.Fprintf(&b, "      - name: %s\n        port: %d\n", name, 8000+i)
		switch i % 7 {
		case 3:
			b.WriteString("        replicas: -1\n")
		case 5:
			b.WriteString("        requests:\n          memory: 1M1\n")
		case 6:
			b.WriteString("        replcas: 2\n")
		}
	}
	data := []byte(b.String())
	if parseSplit(data) == nil {
		t.Fatal("the file cannot take the split parse")
	}
	old := splitMinBytes
	t.Cleanup(func() { splitMinBytes = old })
	load := func(procs, splitFrom int) string {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		splitMinBytes = splitFrom
		_, diags := Load("big.bitesize", data)
		return diags.String()
	}
	one, many := load(1, len(data)+1), load(4, 0)
	if one != many {
		t.Fatalf("diagnostics differ\none thread:\n%s\nfour:\n%s", one, many)
	}
	// 43 negative replicas, 43 bad quantities, 42 unknown fields, 6 duplicates.
	if got, want := len(strings.Split(strings.TrimSpace(one), "\n")), 43+43+42+6; got != want {
		t.Fatalf("%d diagnostics, want %d:\n%s", got, want, one)
	}
}
