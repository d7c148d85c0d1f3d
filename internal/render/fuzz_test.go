package render

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/envop/envop/internal/manifest"
)

// FuzzRender feeds every file that loads without errors to Render: it must
// not panic and must produce objects that encode.
func FuzzRender(f *testing.F) {
	for _, pattern := range []string{"testdata/*.bitesize", "../manifest/testdata/*.bitesize"} {
		files, _ := filepath.Glob(pattern)
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		file, diags := manifest.Load("fuzz.bitesize", data)
		if diags.HasErrors() {
			return
		}
		for i := range file.Environments {
			res, err := Render(&file.Environments[i], file.Project, Options{Files: map[string][]byte{}})
			if err != nil {
				continue // gists without supplied files
			}
			if _, err := EncodeYAML(res.Objects); err != nil {
				t.Fatal(err)
			}
		}
	})
}
