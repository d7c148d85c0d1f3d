package manifest

import (
	"flag"
	"os"
	"path/filepath"
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
