package main

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
)

// measure is one line of the results: how to read it from a run.
type measure struct {
	name, target, unit string
	get                func(*runResult) float64
}

func measures(cfg config) []measure {
	ratio := func(r *runResult) float64 { return r.OperatorCold.Seconds() / r.KubectlCold.Seconds() }
	return []measure{
		{"Manifest: load + validate + render of 500 services (`" + pipelineBenchmark + "`), time", "< 50 ms", "ms", func(r *runResult) float64 { return r.Pipeline.NsPerOp / 1e6 }},
		{"Manifest: the same, allocated", "< 50 MB", "MB", func(r *runResult) float64 { return r.Pipeline.BytesPerOp / 1e6 }},
		{"Manifest: the same, allocations", "", "n", func(r *runResult) float64 { return r.Pipeline.AllocsPerOp }},
		{"Cold apply: operator, process start → first sync applied", "", "s", func(r *runResult) float64 { return r.OperatorCold.Seconds() }},
		{"Cold apply: `kubectl apply --server-side` of the same objects", "", "s", func(r *runResult) float64 { return r.KubectlCold.Seconds() }},
		{"Cold apply: operator ÷ kubectl", "≤ 0.5", "x", ratio},
		{"Cold apply: objects the operator created", fmt.Sprint(4 * cfg.services), "n", func(r *runResult) float64 { return r.ObjectsApplied }},
		{"Cold apply: objects kubectl applied", fmt.Sprint(4 * cfg.services), "n", func(r *runResult) float64 { return float64(r.KubectlObjects) }},
		{"Cold apply: operator CPU time (user + system)", "", "s", func(r *runResult) float64 { return r.OperatorCPU.Seconds() }},
		{"Cold apply: kubectl CPU time (user + system)", "", "s", func(r *runResult) float64 { return r.KubectlCPU.Seconds() }},
		{"Cold apply: the operator's API server requests", "", "n", func(r *runResult) float64 { return r.OperatorCalls }},
		{"Cold apply: the operator's first sync alone", "", "s", func(r *runResult) float64 { return r.OperatorSync.Seconds() }},
		{"Cold apply: operator, process start → every service green", "", "s", func(r *runResult) float64 { return r.OperatorGreen.Seconds() }},
		{"No-op resync: writes to Deployments, Services, Ingresses, HPAs", "0", "n", func(r *runResult) float64 { return r.Noop.Writes.Objects }},
		{"No-op resync: ConfigMap writes (the operator's audit and state)", "", "n", func(r *runResult) float64 { return r.Noop.Writes.ConfigMaps }},
		{"No-op resync: Event writes (every writer)", "", "n", func(r *runResult) float64 { return r.Noop.Writes.Events }},
		{"No-op resync: dry-run requests (persist nothing)", "", "n", func(r *runResult) float64 { return r.Noop.Writes.DryRun }},
		{"No-op resync: the operator's API server requests, all verbs", "", "n", func(r *runResult) float64 { return r.Noop.Writes.Operator }},
		{"No-op resync: webhook → revision applied", "", "s", func(r *runResult) float64 { return r.Noop.Duration.Seconds() }},
		{"No-op resync: the sync alone", "", "s", func(r *runResult) float64 { return r.Noop.Sync.Seconds() }},
		{fmt.Sprintf("Deploy: 202 accepted → succeeded, p50 of %d", cfg.deploys), "", "s", func(r *runResult) float64 { return r.Deploys.P50.Seconds() }},
		{fmt.Sprintf("Deploy: 202 accepted → succeeded, p95 of %d", cfg.deploys), "", "s", func(r *runResult) float64 { return r.Deploys.P95.Seconds() }},
		{"Deploy: deploys not succeeded", "0", "n", func(r *runResult) float64 { return float64(r.Deploys.Failed) }},
		{fmt.Sprintf("`GET /status`: throughput, %d clients for %s", cfg.statusWorkers, cfg.statusFor), "", "/s", func(r *runResult) float64 { return r.Status.PerSecond }},
		{"`GET /status`: p50", "", "ms", func(r *runResult) float64 { return ms(r.Status.P50.Seconds()) }},
		{"`GET /status`: p99", "", "ms", func(r *runResult) float64 { return ms(r.Status.P99.Seconds()) }},
		{"`GET /status`: failed calls", "0", "n", func(r *runResult) float64 { return float64(r.Status.Errors) }},
		{"`GET /status`: API server requests per call", "0", "f", func(r *runResult) float64 { return r.Status.perCall() }},
		{"Commit → applied, webhook", "", "s", func(r *runResult) float64 { return r.Webhook.Applied.Seconds() }},
		{"Commit → service green, webhook", "", "s", func(r *runResult) float64 { return r.Webhook.Green.Seconds() }},
		{fmt.Sprintf("Commit → applied, polling every %s", cfg.pollInterval), "", "s", func(r *runResult) float64 { return r.Polling.Applied.Seconds() }},
		{fmt.Sprintf("Commit → service green, polling every %s", cfg.pollInterval), "", "s", func(r *runResult) float64 { return r.Polling.Green.Seconds() }},
		{"Operator peak RSS (VmHWM) when the first sync is applied", "", "MiB", func(r *runResult) float64 { return mib(r.PeakRSSCold) }},
		{"Operator peak RSS (VmHWM) after every phase", "< 100 MiB", "MiB", func(r *runResult) float64 { return mib(r.PeakRSS) }},
	}
}

func ms(s float64) float64 { return s * 1000 }

func format(v float64, unit string) string {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return "-"
	case unit == "s":
		return fmt.Sprintf("%.2f s", v)
	case unit == "ms":
		return fmt.Sprintf("%.1f ms", v)
	case unit == "x":
		return fmt.Sprintf("%.2f", v)
	case unit == "f":
		return fmt.Sprintf("%.3f", v)
	case unit == "/s":
		return fmt.Sprintf("%.0f/s", v)
	case unit == "MB":
		return fmt.Sprintf("%.1f MB", v)
	case unit == "MiB":
		return fmt.Sprintf("%.1f MiB", v)
	}
	return fmt.Sprintf("%.0f", v)
}

// table renders the results as a Markdown table: median, then each run.
func table(cfg config, results []*runResult) string {
	var b strings.Builder
	b.WriteString("| Measure | Median | Runs | Target |\n|---|---:|---|---|\n")
	for _, m := range measures(cfg) {
		var runs []string
		var values []float64
		for _, r := range results {
			v := m.get(r)
			values = append(values, v)
			runs = append(runs, format(v, m.unit))
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", m.name, format(median(values), m.unit), strings.Join(runs, ", "), m.target)
	}
	return b.String()
}

// report prints the table and writes the Markdown report.
func (b *bench) report(env *environment, results []*runResult) error {
	env.LoadEnd = loadAverage()
	t := table(b.cfg, results)
	fmt.Printf("\n%d services, %d runs (medians, then each run):\n\n%s\n", b.cfg.services, len(results), t)
	details := objectDetails(results)
	if details != "" {
		fmt.Println(details)
	}
	if b.cfg.out == "" {
		return nil
	}
	doc := document(b, env, t, details)
	if err := os.MkdirAll(filepath.Dir(b.cfg.out), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(b.cfg.out, []byte(doc), 0o644); err != nil {
		return fmt.Errorf("write the report: %w", err)
	}
	logf("report written to %s", b.cfg.out)
	return nil
}

// objectDetails names the object writes of no-op resyncs, if any.
func objectDetails(results []*runResult) string {
	var lines []string
	for i, r := range results {
		if r.Noop.Writes.ObjectDetail != "" {
			lines = append(lines, fmt.Sprintf("- run %d: %s", i+1, r.Noop.Writes.ObjectDetail))
		}
	}
	if len(lines) == 0 {
		return ""
	}
	return "Object writes during the no-op resyncs (verb, resource, response code: count):\n\n" + strings.Join(lines, "\n") + "\n"
}
