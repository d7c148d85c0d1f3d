package trials

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// entry is one trial's line in the report.
type entry struct {
	order   int
	name    string
	claim   string
	mu      sync.Mutex
	lines   []string
	passed  bool
	skipped bool
	took    time.Duration
}

var report struct {
	mu      sync.Mutex
	entries []*entry
}

// trialOrder fixes the report's order, whatever order the tests end in.
var trialOrder = []string{
	"TestTrialKillOperator", "TestTrialAPIServerRestart", "TestTrialGitOutage", "TestTrialGitHang",
	"TestTrialConcurrentDeploys", "TestTrialAdmissionRefusal", "TestTrialHostileHTTP", "TestTrialHostileFile", "TestTrialWebhookReplay", "TestTrialManifestFuzz", "TestTrialRights",
}

// record starts t's report entry; its outcome is filled when t ends.
func record(t *testing.T, claim string) *entry {
	e := &entry{order: slices.Index(trialOrder, t.Name()), name: t.Name(), claim: claim}
	start := time.Now()
	report.mu.Lock()
	report.entries = append(report.entries, e)
	report.mu.Unlock()
	t.Cleanup(func() {
		e.mu.Lock()
		e.passed, e.skipped, e.took = !t.Failed(), t.Skipped(), time.Since(start).Round(time.Second)
		lines := slices.Clone(e.lines)
		v := e.verdict()
		e.mu.Unlock()
		t.Logf("%s: %s\n  %s", v, claim, strings.Join(lines, "\n  "))
	})
	return e
}

// add appends a result line.
func (e *entry) add(format string, args ...any) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.lines = append(e.lines, fmt.Sprintf(format, args...))
}

// verdict is FAIL when any check failed, SKIP when the trial stopped
// short without a failure (it proved nothing), else PASS. e.mu is held.
func (e *entry) verdict() string {
	switch {
	case !e.passed:
		return "FAIL"
	case e.skipped:
		return "SKIP"
	}
	return "PASS"
}

const (
	beginMarker = "<!-- trials:begin (written by ENVOP_TRIALS=long go test ./internal/trials) -->"
	endMarker   = "<!-- trials:end -->"
)

// finish prints the report and, for the long form, writes it into
// docs/reliability.md between the markers.
func finish(code int) error {
	body := renderReport(code)
	fmt.Println(body)
	if !long {
		return nil
	}
	path := filepath.Join("..", "..", "docs", "reliability.md")
	old, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	i, j := bytes.Index(old, []byte(beginMarker)), bytes.Index(old, []byte(endMarker))
	if i < 0 || j < i {
		return fmt.Errorf("%s lacks the trials markers", path)
	}
	out := slices.Concat(old[:i+len(beginMarker)], []byte("\n"+body+"\n"), old[j:])
	return os.WriteFile(path, out, 0o644)
}

func renderReport(code int) string {
	report.mu.Lock()
	entries := slices.Clone(report.entries)
	report.mu.Unlock()
	slices.SortFunc(entries, func(a, b *entry) int { return a.order - b.order })
	var b strings.Builder
	form := "short"
	if long {
		form = "long"
	}
	fmt.Fprintf(&b, "Run: %s form, %s, commit %s, exit code %d.\n", form, time.Now().UTC().Format("2006-01-02 15:04 MST"), gitCommit(), code)
	fmt.Fprintf(&b, "Machine: %s, %d CPUs (shared), %s %s/%s.\n\n", cpuModel(), runtime.NumCPU(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	b.WriteString("| Trial | Claim | Result | Time | Numbers |\n|---|---|---|---|---|\n")
	for _, e := range entries {
		e.mu.Lock()
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", strings.TrimPrefix(e.name, "TestTrial"), e.claim, e.verdict(), e.took,
			strings.ReplaceAll(strings.Join(e.lines, "; "), "|", "\\|"))
		e.mu.Unlock()
	}
	return b.String()
}

// gitCommit names the code under trial; ENVOP_TRIALS_COMMIT names it when
// the trials run from an export without git metadata.
func gitCommit() string {
	if c := os.Getenv("ENVOP_TRIALS_COMMIT"); c != "" {
		return c
	}
	out, err := exec.Command("git", "describe", "--always", "--dirty").Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(out))
}

func cpuModel() string {
	data, _ := os.ReadFile("/proc/cpuinfo")
	for _, line := range strings.Split(string(data), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}
