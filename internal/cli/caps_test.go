package cli

import (
	"maps"
	"strings"
	"testing"
)

// cappedManifest asks for more than a strict installer allows: a CPU limit
// of 6, a memory request of 12Gi and an autoscaler up to 80 replicas.
const cappedManifest = `project: shop
environments:
  - name: dev
    namespace: shop-dev
    services:
      - name: api
        version: 1.0.0
        limits:
          cpu: "6"
          memory: 16Gi
        requests:
          cpu: 500m
          memory: 12Gi
        hpa:
          min_replicas: 2
          max_replicas: 80
      - name: web
        version: 1.0.0
        limits:
          cpu: 4000m
          memory: 8192Mi
`

// TestValidateCaps: the caps refuse, at their value, the limits, requests
// and hpa.max_replicas above them; the variables take the original
// operator's plain numbers (millicores, MiB) as well as quantities.
func TestValidateCaps(t *testing.T) {
	file := writeFile(t, cappedManifest)
	cpu := file + `:9:16: environments[0].services[0].limits.cpu: cpu 6 is above 4, the most the installer allows`
	memLimit := file + `:10:19: environments[0].services[0].limits.memory: memory 16Gi is above 8Gi, the most the installer allows`
	memRequest := file + `:13:19: environments[0].services[0].requests.memory: memory 12Gi is above 8Gi, the most the installer allows`
	hpa := file + `:16:25: environments[0].services[0].hpa.max_replicas: 80 replicas is above 50, the most the installer allows`
	for _, tt := range []struct {
		name string
		vars map[string]string
		args []string
		code int
		want []string
	}{
		{"no caps", nil, nil, ExitOK, []string{"valid"}},
		{"flags", nil, []string{"--max-cpu-limit", "4", "--max-memory-limit", "8Gi", "--max-hpa-replicas", "50"}, ExitFailed,
			[]string{cpu + " (--max-cpu-limit 4)", memLimit + " (--max-memory-limit 8Gi)", memRequest, hpa + " (--max-hpa-replicas 50)"}},
		{"the original's plain numbers", map[string]string{"LIMITS_MAX_CPU": "4000", "LIMITS_MAX_MEMORY": "8192", "HPA_MAX_REPLICAS": "50"}, nil, ExitFailed,
			[]string{cpu + " (LIMITS_MAX_CPU=4000)", memLimit + " (LIMITS_MAX_MEMORY=8192)", memRequest, hpa + " (HPA_MAX_REPLICAS=50)"}},
		{"quantities in the variables", map[string]string{"LIMITS_MAX_CPU": "4000m", "LIMITS_MAX_MEMORY": "8Gi"}, nil, ExitFailed,
			[]string{cpu + " (LIMITS_MAX_CPU=4000m)", memLimit + " (LIMITS_MAX_MEMORY=8Gi)"}},
		// The variable's plain number keeps the original's unit: 4 is 4m.
		{"a variable's plain number is the original's unit", map[string]string{"LIMITS_MAX_CPU": "4"}, nil, ExitFailed,
			[]string{file + `:20:16: environments[0].services[1].limits.cpu: cpu 4000m is above 4m, the most the installer allows (LIMITS_MAX_CPU=4)`}},
		{"a flag's plain number is a quantity", nil, []string{"--max-cpu-limit", "4000"}, ExitOK, []string{"valid"}},
		{"high enough", map[string]string{"LIMITS_MAX_CPU": "6000", "LIMITS_MAX_MEMORY": "16Gi", "HPA_MAX_REPLICAS": "80"}, nil, ExitOK, []string{"valid"}},
		{"the flag wins", map[string]string{"LIMITS_MAX_CPU": "1"}, []string{"--max-cpu-limit", "8"}, ExitOK, []string{"valid"}},
		{"bad flag", nil, []string{"--max-cpu-limit", "four"}, ExitUsage,
			[]string{"--max-cpu-limit four: not a quantity: want a quantity (4, 4000m), above zero"}},
		{"bad variables", map[string]string{"LIMITS_MAX_CPU": "-1", "LIMITS_MAX_MEMORY": "lots", "HPA_MAX_REPLICAS": "many"}, nil, ExitUsage,
			[]string{"LIMITS_MAX_CPU=-1: out of range: want millicores as a plain number, or a quantity (4, 4000m), above zero",
				"LIMITS_MAX_MEMORY=lots: not a quantity: want MiB as a plain number, or a quantity (8Gi, 8192Mi), above zero",
				"HPA_MAX_REPLICAS=many: want a whole number of replicas, 1 or more"}},
		{"zero", nil, []string{"--max-memory-limit", "0", "--max-hpa-replicas", "0"}, ExitUsage,
			[]string{"--max-memory-limit 0: not above zero", "--max-hpa-replicas 0: want a whole number"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runEnv(t, tt.vars, append([]string{"validate", "-f", file}, tt.args...)...)
			if code != tt.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tt.code, errOut)
			}
			for _, w := range tt.want {
				if !strings.Contains(out+errOut, w) {
					t.Errorf("output does not contain %q:\n%s%s", w, out, errOut)
				}
			}
		})
	}
}

// TestCapsBindEveryCommand: render and diff refuse what the caps refuse,
// and refuse default resources above them, as serve does.
func TestCapsBindEveryCommand(t *testing.T) {
	file := writeFile(t, cappedManifest)
	code, out, errOut := runEnv(t, map[string]string{"HPA_MAX_REPLICAS": "10"}, "render", "-f", file, "--env", "dev")
	if code != ExitFailed || out != "" || !strings.Contains(errOut, "hpa.max_replicas: 80 replicas is above 10") {
		t.Errorf("render: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, _, errOut = runEnv(t, map[string]string{"LIMITS_MAX_CPU": "500", "LIMITS_MAX_MEMORY": "16384"}, "render", "-f", writeFile(t, validManifest), "--env", "dev")
	if code != ExitUsage || !strings.Contains(errOut, "--default-cpu-limit 1000m is above LIMITS_MAX_CPU=500: services that set none would get more than the installer allows") {
		t.Errorf("render with defaults above the cap: exit %d, stderr %q", code, errOut)
	}
	if _, err := parseServe(t, map[string]string{"LIMITS_DEFAULT_MEMORY": "4Gi", "LIMITS_MAX_MEMORY": "2048"}); err == nil ||
		!strings.Contains(err.Error(), "LIMITS_DEFAULT_MEMORY=4Gi is above LIMITS_MAX_MEMORY=2048") {
		t.Errorf("serve with defaults above the cap: %v", err)
	}
	f, err := parseServe(t, map[string]string{"LIMITS_MAX_CPU": "4000", "LIMITS_MAX_MEMORY": "8192", "HPA_MAX_REPLICAS": "50"})
	if err != nil {
		t.Fatal(err)
	}
	if c := f.opts.Policy.Caps; c.CPU.String() != "4" || c.Memory.String() != "8Gi" || c.HPAReplicas != 50 {
		t.Errorf("serve's caps: %+v", c)
	}
}

// TestDefaultResourcesFromTheOriginalsVariables: LIMITS_DEFAULT_CPU,
// LIMITS_DEFAULT_MEMORY and REQUESTS_DEFAULT_CPU set the default resources,
// and a bad one is refused naming the variable.
func TestDefaultResourcesFromTheOriginalsVariables(t *testing.T) {
	f, err := parseServe(t, map[string]string{"LIMITS_DEFAULT_CPU": "2", "LIMITS_DEFAULT_MEMORY": "1Gi", "REQUESTS_DEFAULT_CPU": "250m"})
	if err != nil {
		t.Fatal(err)
	}
	r := f.opts.Render
	if !maps.Equal(r.DefaultLimits, map[string]string{"cpu": "2", "memory": "1Gi"}) || !maps.Equal(r.DefaultRequests, map[string]string{"cpu": "250m"}) {
		t.Errorf("limits %v, requests %v", r.DefaultLimits, r.DefaultRequests)
	}
	if _, err := parseServe(t, map[string]string{"REQUESTS_DEFAULT_CPU": "a lot"}); err == nil ||
		!strings.Contains(err.Error(), "REQUESTS_DEFAULT_CPU=a lot: invalid quantity") {
		t.Errorf("bad REQUESTS_DEFAULT_CPU: %v", err)
	}
	code, out, errOut := runEnv(t, map[string]string{"LIMITS_DEFAULT_CPU": "1500m"}, "render", "-f", writeFile(t, validManifest), "--env", "dev")
	if code != ExitOK || !strings.Contains(out, "cpu: 1500m") {
		t.Errorf("render: exit %d, stderr %s", code, errOut)
	}
}
