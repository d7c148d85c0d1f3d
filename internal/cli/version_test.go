package cli

import (
	"encoding/json"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/envop/envop/internal/version"
)

// TestVersionMachineOutput: -o json and -o yaml print the same fields.
func TestVersionMachineOutput(t *testing.T) {
	for format, unmarshal := range map[string]func([]byte, any) error{
		"json": json.Unmarshal,
		"yaml": func(data []byte, v any) error { return yaml.UnmarshalStrict(data, v) },
	} {
		code, out, errOut := run(t, "version", "-o", format)
		if code != ExitOK {
			t.Fatalf("-o %s: exit %d: %s", format, code, errOut)
		}
		var info version.Info
		if err := unmarshal([]byte(out), &info); err != nil || info.GoVersion == "" || info.Platform == "" {
			t.Errorf("-o %s: %+v, %v\n%s", format, info, err, out)
		}
	}
	if code, _, _ := run(t, "version", "-o", "xml"); code != ExitUsage {
		t.Errorf("-o xml: exit %d, want 2", code)
	}
}
