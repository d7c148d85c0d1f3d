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

// cold applies the environment once by the operator and once by kubectl,
// each into a fresh namespace, letting the pods of the first settle before
// the second starts. Odd runs go operator first, even runs kubectl first.
func (t *trial) cold(ctx context.Context) error {
	first, second := t.coldOperator, t.coldKubectl
	if t.n%2 == 0 {
		first, second = second, first
	}
	if err := first(ctx); err != nil {
		return err
	}
	return second(ctx)
}

// coldOperator starts the operator and measures until its first sync is
// applied, then until every service is green.
func (t *trial) coldOperator(ctx context.Context) error {
	before, err := t.apiserverSamples(ctx)
	if err != nil {
		return err
	}
	start := time.Now()
	if t.op, err = t.startOperator("operator", time.Hour); err != nil {
		return err
	}
	if err := t.op.waitReady(ctx, 10*time.Minute); err != nil {
		return err
	}
	t.res.OperatorCold = time.Since(start)
	if err := t.coldFacts(ctx, before); err != nil {
		return err
	}
	if err := t.waitGreen(ctx, t.op, 10*time.Minute); err != nil {
		return err
	}
	t.res.OperatorGreen = time.Since(start)
	if err := t.waitDeploysEnded(ctx); err != nil {
		return err
	}
	logf("run %d: operator: first sync after %s (sync %s, CPU %s, %.0f requests), all green after %s", t.n,
		t.res.OperatorCold.Round(time.Millisecond), t.res.OperatorSync.Round(time.Millisecond),
		t.res.OperatorCPU, t.res.OperatorCalls, t.res.OperatorGreen.Round(time.Millisecond))
	return t.settle(ctx, t.opNS, t.cfg.services)
}

// coldFacts records, right after the first sync, what it cost: its own
// duration, objects, CPU time and API server requests.
func (t *trial) coldFacts(ctx context.Context, before samples) error {
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
	t.res.OperatorSync = seconds(m.sum("envop_sync_duration_seconds_sum", labelIs("result", "success")))
	t.res.ObjectsApplied = m.sum("envop_objects_applied_total", labelIs("action", "created"))
	return nil
}

// waitGreen waits until /status lists every service and says green.
func (t *trial) waitGreen(ctx context.Context, op *operatorProc, timeout time.Duration) error {
	return poll(ctx, timeout, 250*time.Millisecond, "every service green", func(ctx context.Context) (bool, error) {
		s, err := op.status(ctx)
		if err != nil {
			return false, err
		}
		if s.Status != "green" || len(s.Services) != t.cfg.services {
			return false, fmt.Errorf("status %s, %d services", s.Status, len(s.Services))
		}
		return true, nil
	})
}

// waitDeploysEnded waits until the operator recorded the outcome of the
// first sync's deploy of every service, so that no later window counts
// those writes.
func (t *trial) waitDeploysEnded(ctx context.Context) error {
	return poll(ctx, 5*time.Minute, 100*time.Millisecond, "first deploys recorded", func(ctx context.Context) (bool, error) {
		m, err := t.op.metrics(ctx)
		if err != nil {
			return false, err
		}
		return m.sum("envop_deploys_total", nil) >= float64(t.cfg.services), nil
	})
}

// coldKubectl renders the same environment bound to the kubectl namespace
// with `envop render` (not timed) and applies it with kubectl, with a cold
// discovery cache, as a pipeline would.
func (t *trial) coldKubectl(ctx context.Context) error {
	objects, count, err := t.renderForKubectl(ctx)
	if err != nil {
		return err
	}
	t.res.KubectlObjects = count
	cmd := exec.CommandContext(ctx, t.kubectl, "--kubeconfig", t.cluster.Kubeconfig,
		"--cache-dir", filepath.Join(t.dir, "kubectl-cache"),
		"apply", "--server-side", "--field-manager=bench", "-f", objects)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("kubectl apply: %w: %s", err, lastLines(out.String(), 10))
	}
	t.res.KubectlCold = time.Since(start)
	t.res.KubectlCPU = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	logf("run %d: kubectl: %d objects applied in %s", t.n, count, t.res.KubectlCold.Round(time.Millisecond))
	return t.settle(ctx, t.kcNS, t.cfg.services)
}

func (t *trial) renderForKubectl(ctx context.Context) (string, int, error) {
	dir := filepath.Join(t.dir, "kubectl")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", 0, err
	}
	file := filepath.Join(dir, manifestFile)
	if err := os.WriteFile(file, []byte(manifestOf(t.kcNS, t.cfg.services, nil)), 0o644); err != nil {
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
