package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// environment is where and with what the numbers were taken.
type environment struct {
	Date       time.Time
	CPUs       int
	CPUModel   string
	Memory     string
	LoadStart  string
	LoadEnd    string
	Go         string
	Envop      string
	Kubernetes string
	Command    string
}

func describe(ctx context.Context, b *bench) (*environment, error) {
	env := &environment{
		Date: time.Now().UTC(), CPUs: cpus(), Go: runtime.Version(),
		CPUModel: procField("/proc/cpuinfo", "model name"), Memory: memTotal(),
		LoadStart: loadAverage(), Command: command(b.args),
	}
	v, err := b.cluster.Client.Discovery().ServerVersion()
	if err != nil {
		return nil, fmt.Errorf("read the API server's version: %w", err)
	}
	env.Kubernetes = v.GitVersion
	out, err := exec.CommandContext(ctx, b.cfg.envop, "version", "-o", "json").Output()
	if err != nil {
		return nil, fmt.Errorf("envop version: %w", err)
	}
	var info struct{ Version, Commit, GoVersion string }
	if err := json.Unmarshal(out, &info); err != nil {
		return nil, fmt.Errorf("envop version: %w", err)
	}
	if info.Commit == "" {
		info.Commit = workingTree(ctx)
	}
	env.Envop = fmt.Sprintf("%s (commit %s, built with %s)", orDash(info.Version), info.Commit, info.GoVersion)
	return env, nil
}

// workingTree names the checkout's commit, for a binary built without
// version information (-buildvcs=false, no -ldflags).
func workingTree(ctx context.Context) string {
	head, err := exec.CommandContext(ctx, "git", "rev-parse", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	rev := "of the checkout: " + strings.TrimSpace(string(head))
	changed, err := exec.CommandContext(ctx, "git", "status", "--porcelain", "--untracked-files=no").Output()
	if err == nil && len(changed) > 0 {
		rev += fmt.Sprintf(", %d files modified", strings.Count(string(changed), "\n"))
	}
	return rev
}

// procField returns the first value of key in a /proc file of "key: value" lines.
func procField(path, key string) string {
	f, err := os.Open(path)
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

// memTotal is the machine's memory in GiB.
func memTotal() string {
	kb, err := strconv.ParseFloat(strings.TrimSuffix(procField("/proc/meminfo", "MemTotal"), " kB"), 64)
	if err != nil {
		return "unknown"
	}
	return fmt.Sprintf("%.1f GiB", kb/(1<<20))
}

// loadAverage is the 1, 5 and 15 minute load of the machine: the bench
// shares it with whatever else runs.
func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// command is how to rerun the bench with the same flags; the plane's
// binaries are named the way the Makefile finds them.
func command(args []string) string {
	const binDir = `"$(bash hack/controlplane/build.sh --print-dir)"`
	quoted := make([]string, len(args))
	for i, a := range args {
		switch {
		case i > 0 && args[i-1] == "--bin":
			quoted[i] = binDir
		case strings.HasPrefix(a, "--bin="):
			quoted[i] = "--bin=" + binDir
		case strings.ContainsAny(a, " \"'$"):
			quoted[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		default:
			quoted[i] = a
		}
	}
	return strings.TrimSpace("go run ./hack/bench " + strings.Join(quoted, " "))
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// cpus is the machine's CPU count.
func cpus() int { return runtime.NumCPU() }
