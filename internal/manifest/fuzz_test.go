package manifest

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoad proves loading never panics, whatever the bytes; the seed corpus
// is every testdata file, so plain `go test` runs it briefly.
func FuzzLoad(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.bitesize")
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("a: &a [*a, *a]\nenvironments: *a\n"))
	f.Add([]byte("<<: {project: x}\nenvironments: [{name: a, services: [{name: b, options: &o {x: [*o]}}]}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, diags := Load("fuzz.bitesize", data)
		for _, d := range diags {
			_ = d.String()
		}
		if file != nil && !diags.HasErrors() && len(file.Environments) == 0 {
			t.Fatal("a file without environments loaded without errors")
		}
	})
}
