package trials

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestTrialManifestFuzz reports the manifest fuzzing run. The short form is
// the seed corpus that `go test ./internal/manifest` runs; the long form is
// `go test -fuzz=FuzzLoad -fuzztime=10m ./internal/manifest`, which make
// trials runs first, handing its output over in ENVOP_FUZZ_LOG.
func TestTrialManifestFuzz(t *testing.T) {
	t.Parallel()
	rep := record(t, "fuzz the manifest loader (FuzzLoad)")
	path := os.Getenv("ENVOP_FUZZ_LOG")
	if path == "" {
		rep.add("short form: the seed corpus (every testdata/*.bitesize) runs in go test ./internal/manifest; no fuzz log given")
		return
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read the fuzz log: %v", err)
	}
	out := string(data)
	if strings.Contains(out, "--- FAIL") || !regexp.MustCompile(`(?m)^ok\s`).MatchString(out) {
		t.Fatalf("the fuzz run failed:\n%s", tail(out, 30))
	}
	last := regexp.MustCompile(`elapsed: (\S+), execs: (\d+) \((\d+)/sec\), new interesting: (\d+) \(total: (\d+)\)`).FindAllStringSubmatch(out, -1)
	if len(last) == 0 {
		t.Fatalf("no progress line in the fuzz log:\n%s", tail(out, 30))
	}
	m := last[len(last)-1]
	execs, _ := strconv.Atoi(m[2])
	elapsed, err := time.ParseDuration(m[1])
	if err != nil || elapsed <= 0 {
		t.Fatalf("elapsed %q in the fuzz log: %v", m[1], err)
	}
	rep.add("%d executions in %s (%.0f/s on average), %s new interesting inputs (corpus %s), no crash",
		execs, m[1], float64(execs)/elapsed.Seconds(), m[4], m[5])
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
