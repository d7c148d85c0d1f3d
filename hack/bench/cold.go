package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// breakdown is where the operator's cold time went: the process start
// until its first sync began, then the sync's phases, each with the CPU
// time the API server and etcd spent meanwhile.
type breakdown struct {
	Start, State, Apply, Prune, Other time.Duration
	// PlaneCPU is the API server's and etcd's CPU time in each of the
	// phases above, by the same names.
	PlaneCPU map[string]time.Duration
	// ApplyLatency is the API server's mean APPLY request duration, by its
	// own apiserver_request_duration_seconds, over the operator's cold apply.
	ApplyLatency time.Duration
}

// floor is what the API server costs per object.
type floor struct {
	// DryRunCPUPerObject is the API server's and etcd's CPU time per
	// object of a server-side dry run of the same apply by one kubectl:
	// the server's own work on an apply (decoding, admission, validation,
	// the merge of managed fields) without the write, the watch events and
	// the controllers' reactions. No client can apply faster than that.
	DryRunCPUPerObject time.Duration
	// PlaneCPUPerObject is the API server's and etcd's CPU time over the
	// serial kubectl apply, per object, the controllers' reactions to the
	// new objects included (they run meanwhile, as under the operator).
	PlaneCPUPerObject time.Duration
	// ApplyLatency is the API server's mean APPLY request duration then.
	ApplyLatency time.Duration
	// CPUs is the machine's CPU count, the floor's divisor.
	CPUs int
}

// seconds is the floor's time for objects: the dry run's CPU cost per
// object spread over every CPU of the machine.
func (f floor) seconds(objects int) float64 {
	if f.CPUs == 0 {
		return 0
	}
	return f.DryRunCPUPerObject.Seconds() * float64(objects) / float64(f.CPUs)
}

// cold applies the environment once by the operator and once by kubectl,
// each into a fresh namespace, letting the pods of the first settle before
// the second starts. Odd runs go operator first, even runs kubectl first.
// Parallel kubectl, in a third namespace, always comes last (not in the
// cost curve's runs).
func (t *trial) cold(ctx context.Context) error {
	first, second := t.coldOperator, t.coldKubectl
	if t.n%2 == 0 {
		first, second = second, first
	}
	if err := first(ctx); err != nil {
		return err
	}
	if err := second(ctx); err != nil {
		return err
	}
	if t.services != t.cfg.services {
		return nil
	}
	return t.coldKubectlParallel(ctx)
}

// coldOperator starts the operator and measures until its first sync
// applied everything (a sync that succeeded: /readyz alone also turns
// ready after a sync that applied only part), then until every service is
// green.
func (t *trial) coldOperator(ctx context.Context) error {
	before, err := t.apiserverSamples(ctx)
	if err != nil {
		return err
	}
	sampler := t.sampleCPU(50 * time.Millisecond)
	start := time.Now()
	if t.op, err = t.startOperator("operator", time.Hour); err != nil {
		sampler.stop()
		return err
	}
	err = t.op.waitReady(ctx, t.patience())
	if err == nil {
		err = t.op.waitSynced(ctx, t.patience())
	}
	synced := time.Now()
	samples := sampler.stop()
	if err != nil {
		return err
	}
	t.res.OperatorCold = synced.Sub(start)
	if err := t.coldFacts(ctx, before, start, synced, samples); err != nil {
		return err
	}
	if err := t.waitGreen(ctx, t.op, t.patience()); err != nil {
		return err
	}
	t.res.OperatorGreen = time.Since(start)
	if err := t.waitDeploysEnded(ctx); err != nil {
		return err
	}
	b := t.res.Breakdown
	logf("run %d: operator: first sync after %s (start %s, state %s, apply %s, prune %s; sync %s, CPU %s, %.0f requests), all green after %s", t.n,
		t.res.OperatorCold.Round(time.Millisecond), b.Start.Round(time.Millisecond), b.State.Round(time.Millisecond),
		b.Apply.Round(time.Millisecond), b.Prune.Round(time.Millisecond), t.res.OperatorSync.Round(time.Millisecond),
		t.res.OperatorCPU, t.res.OperatorCalls, t.res.OperatorGreen.Round(time.Millisecond))
	return t.settle(ctx, t.opNS, t.services)
}

// waitSynced waits until a sync succeeded: every object applied, pruning
// done.
func (p *operatorProc) waitSynced(ctx context.Context, timeout time.Duration) error {
	return poll(ctx, timeout, 25*time.Millisecond, "a sync that applied everything", func(ctx context.Context) (bool, error) {
		m, err := p.metrics(ctx)
		if err != nil {
			return false, err
		}
		return m.sum("envop_syncs_total", labelIs("result", "success")) >= 1, nil
	})
}

// syncPhases are the phases of a sync in the order they run
// (envop_sync_phase_duration_seconds), and the breakdown's line each
// counts in.
var syncPhases = []struct{ phase, line string }{
	{"load", "other"}, {"takeover", "other"}, {"render", "other"}, {"state", "state"},
	{"vault", "other"}, {"apply", "apply"}, {"prune", "prune"}, {"evaluate", "other"},
}

// coldFacts records, right after the first sync, what it cost: its own
// duration and phases, objects, CPU time and API server requests, and the
// plane's CPU time in each phase.
func (t *trial) coldFacts(ctx context.Context, before samples, start, synced time.Time, cpu []cpuSample) error {
	after, err := t.apiserverSamples(ctx)
	if err != nil {
		return err
	}
	t.res.OperatorCalls = operatorRequests(after) - operatorRequests(before)
	if t.res.OperatorCPU, err = t.op.cpuTime(); err != nil {
		return err
	}
	if t.res.PeakRSSCold, _, err = t.op.memory(); err != nil {
		return err
	}
	m, err := t.op.metrics(ctx)
	if err != nil {
		return err
	}
	t.res.OperatorSync = seconds(m.sum("envop_sync_duration_seconds_sum", nil))
	t.res.ObjectsApplied = m.sum("envop_objects_applied_total", labelIs("action", "created"))
	b := breakdown{PlaneCPU: map[string]time.Duration{}, ApplyLatency: applyLatency(before, after)}
	// The syncs ran back to back and ended just before synced: their
	// phases, laid end to end from there, place each phase in time.
	at := synced.Add(-t.res.OperatorSync)
	b.Start = at.Sub(start)
	b.PlaneCPU["start"] = cpuBetween(cpu, start, at)
	lines := map[string]*time.Duration{"state": &b.State, "apply": &b.Apply, "prune": &b.Prune, "other": &b.Other}
	for _, p := range syncPhases {
		d := seconds(m.sum("envop_sync_phase_duration_seconds_sum", labelIs("phase", p.phase)))
		*lines[p.line] += d
		b.PlaneCPU[p.line] += cpuBetween(cpu, at, at.Add(d))
		at = at.Add(d)
	}
	t.res.Breakdown = b
	return nil
}

// applyLatency is the API server's mean duration of APPLY requests between
// two readings of its metrics.
func applyLatency(before, after samples) time.Duration {
	isApply := labelIs("verb", "APPLY")
	n := after.sum(durationCount, isApply) - before.sum(durationCount, isApply)
	if n <= 0 {
		return 0
	}
	return seconds((after.sum(durationSum, isApply) - before.sum(durationSum, isApply)) / n)
}

// waitGreen waits until /status lists every service and says green.
func (t *trial) waitGreen(ctx context.Context, op *operatorProc, timeout time.Duration) error {
	return poll(ctx, timeout, 250*time.Millisecond, "every service green", func(ctx context.Context) (bool, error) {
		s, err := op.status(ctx)
		if err != nil {
			return false, err
		}
		if s.Status != "green" || len(s.Services) != t.services {
			return false, fmt.Errorf("status %s, %d services", s.Status, len(s.Services))
		}
		return true, nil
	})
}

// waitDeploysEnded waits until the operator recorded the outcome of the
// first sync's deploy of every service, so that no later window counts
// those writes.
func (t *trial) waitDeploysEnded(ctx context.Context) error {
	return poll(ctx, t.patience(), 100*time.Millisecond, "first deploys recorded", func(ctx context.Context) (bool, error) {
		m, err := t.op.metrics(ctx)
		if err != nil {
			return false, err
		}
		return m.sum("envop_deploys_total", nil) >= float64(t.services), nil
	})
}

// coldKubectl renders the same environment bound to the kubectl namespace
// with `envop render` (not timed) and applies it with kubectl, with a cold
// discovery cache, as a pipeline would. The API server's cost per object
// while it runs is the floor.
func (t *trial) coldKubectl(ctx context.Context) error {
	objects, count, err := t.renderFor(ctx, t.kcNS)
	if err != nil {
		return err
	}
	t.res.KubectlObjects = count
	dryRun, err := t.dryRunCPU(ctx, objects, count)
	if err != nil {
		return err
	}
	before, err := t.apiserverSamples(ctx)
	if err != nil {
		return err
	}
	cpuBefore, err := t.planeCPU()
	if err != nil {
		return err
	}
	cmd := t.kubectlApply(ctx, "kubectl-cache", objects)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("kubectl apply: %w: %s", err, lastLines(out.String(), 10))
	}
	t.res.KubectlCold = time.Since(start)
	t.res.KubectlCPU = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	cpuAfter, err := t.planeCPU()
	if err != nil {
		return err
	}
	after, err := t.apiserverSamples(ctx)
	if err != nil {
		return err
	}
	var plane time.Duration
	for name, v := range cpuAfter {
		plane += v - cpuBefore[name]
	}
	t.res.Floor = floor{DryRunCPUPerObject: dryRun, PlaneCPUPerObject: plane / time.Duration(max(count, 1)),
		ApplyLatency: applyLatency(before, after), CPUs: cpus()}
	logf("run %d: kubectl: %d objects applied in %s (API server and etcd: %s CPU per object, %s in a dry run; APPLY %s on average)", t.n, count,
		t.res.KubectlCold.Round(time.Millisecond), t.res.Floor.PlaneCPUPerObject.Round(10*time.Microsecond),
		t.res.Floor.DryRunCPUPerObject.Round(10*time.Microsecond), t.res.Floor.ApplyLatency.Round(10*time.Microsecond))
	return t.settle(ctx, t.kcNS, t.services)
}

// dryRunCPU is the API server's and etcd's CPU time per object of a
// server-side dry run of file by one kubectl (its own discovery cache, so
// the apply that follows still starts cold).
func (t *trial) dryRunCPU(ctx context.Context, file string, count int) (time.Duration, error) {
	cmd := t.kubectlApply(ctx, "kubectl-dry-run-cache", file)
	cmd.Args = append(cmd.Args, "--dry-run=server")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	before, err := t.planeCPU()
	if err != nil {
		return 0, err
	}
	if err := cmd.Run(); err != nil {
		return 0, fmt.Errorf("kubectl apply --dry-run=server: %w: %s", err, lastLines(out.String(), 10))
	}
	after, err := t.planeCPU()
	if err != nil {
		return 0, err
	}
	var cpu time.Duration
	for name, v := range after {
		cpu += v - before[name]
	}
	return cpu / time.Duration(max(count, 1)), nil
}

// coldKubectlParallel applies the same objects with as many kubectl
// processes at once as the operator has apply workers (`xargs -P`), each
// given every Nth object, into a namespace of its own that it removes
// after.
func (t *trial) coldKubectlParallel(ctx context.Context) error {
	ns := t.kcNS + "-parallel"
	if err := t.createNamespace(ctx, ns); err != nil {
		return err
	}
	defer t.deleteNamespaces(ctx, ns)
	objects, _, err := t.renderFor(ctx, ns)
	if err != nil {
		return err
	}
	files, err := splitObjects(objects, t.cfg.kubectlWorkers)
	if err != nil {
		return err
	}
	base := t.kubectlApply(ctx, "kubectl-parallel-cache", "")
	args := append([]string{"-P", fmt.Sprint(t.cfg.kubectlWorkers), "-n", "1", base.Path}, base.Args[1:len(base.Args)-1]...)
	cmd := exec.CommandContext(ctx, "xargs", args...)
	cmd.Stdin = strings.NewReader(strings.Join(files, "\n") + "\n")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("xargs kubectl apply: %w: %s", err, lastLines(out.String(), 10))
	}
	t.res.KubectlPar = time.Since(start)
	logf("run %d: kubectl, %d processes: applied in %s", t.n, t.cfg.kubectlWorkers, t.res.KubectlPar.Round(time.Millisecond))
	return t.settle(ctx, ns, t.services)
}

// kubectlApply is `kubectl apply --server-side` of file with the admin
// kubeconfig and an empty discovery cache; file is the last argument.
func (t *trial) kubectlApply(ctx context.Context, cache, file string) *exec.Cmd {
	return exec.CommandContext(ctx, t.kubectl, "--kubeconfig", t.cluster.Kubeconfig,
		"--cache-dir", filepath.Join(t.dir, cache),
		"apply", "--server-side", "--field-manager=bench", "-f", file)
}

// splitObjects writes the objects of a multi-document file into n files,
// object i into file i mod n, and returns their paths.
func splitObjects(file string, n int) ([]string, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	parts := make([]strings.Builder, n)
	i := 0
	for _, doc := range strings.Split("\n"+string(data), "\n---\n") {
		if strings.TrimSpace(doc) == "" {
			continue
		}
		b := &parts[i%n]
		b.WriteString("---\n" + strings.TrimPrefix(doc, "\n") + "\n")
		i++
	}
	var paths []string
	for k := range parts {
		if parts[k].Len() == 0 {
			continue
		}
		path := fmt.Sprintf("%s.%d", file, k)
		if err := os.WriteFile(path, []byte(parts[k].String()), 0o644); err != nil {
			return nil, err
		}
		paths = append(paths, path)
	}
	return paths, nil
}

// renderFor renders the environment bound to ns with `envop render`.
func (t *trial) renderFor(ctx context.Context, ns string) (string, int, error) {
	dir := filepath.Join(t.dir, ns)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", 0, err
	}
	file := filepath.Join(dir, manifestFile)
	if err := os.WriteFile(file, []byte(manifestOf(ns, t.services, nil)), 0o644); err != nil {
		return "", 0, err
	}
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, t.cfg.envop, "render", "-f", file, "--env", environmentName)
	cmd.Stderr = &stderr
	data, err := cmd.Output()
	if err != nil {
		return "", 0, fmt.Errorf("envop render: %w: %s", err, stderr.String())
	}
	objects := filepath.Join(dir, "objects.yaml")
	count := strings.Count("\n"+string(data), "\nkind: ")
	return objects, count, os.WriteFile(objects, data, 0o644)
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
