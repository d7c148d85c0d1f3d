package main

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// measure is one line of the results: how to read it from a run.
type measure struct {
	name, target, unit string
	get                func(*runResult) float64
	// summary, when set, is the line's value over all runs instead of the
	// median of get: a ratio is the ratio of the medians.
	summary func([]*runResult) float64
}

// targetMet says whether v meets a target as the page writes it: "< N",
// "≤ N" or "N" (exactly), with N in the line's unit; ok is false for a line
// without target.
func targetMet(target string, v float64) (met, ok bool) {
	target = strings.TrimSpace(target)
	if target == "" || math.IsNaN(v) {
		return false, target != ""
	}
	op := "="
	for _, prefix := range []string{"<", "≤"} {
		if rest, found := strings.CutPrefix(target, prefix); found {
			op, target = prefix, strings.TrimSpace(rest)
		}
	}
	num, _, _ := strings.Cut(target, " ")
	limit, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return false, false
	}
	switch op {
	case "<":
		return v < limit, true
	case "≤":
		return v <= limit, true
	}
	return v == limit, true
}

// verdict is the Verdict column: PASS or MISS for a line with a target.
func verdict(target string, v float64) string {
	met, ok := targetMet(target, v)
	switch {
	case !ok:
		return ""
	case met:
		return "PASS"
	}
	return "MISS"
}

// medianOf is the median of get over the runs.
func medianOf(results []*runResult, get func(*runResult) float64) float64 {
	var vs []float64
	for _, r := range results {
		vs = append(vs, get(r))
	}
	return median(vs)
}

func measures(cfg config) []measure {
	operatorCold := func(r *runResult) float64 { return r.OperatorCold.Seconds() }
	kubectlCold := func(r *runResult) float64 { return r.KubectlCold.Seconds() }
	kubectlPar := func(r *runResult) float64 { return r.KubectlPar.Seconds() }
	ratio := func(r *runResult) float64 { return operatorCold(r) / kubectlCold(r) }
	ratioOfMedians := func(rs []*runResult) float64 { return medianOf(rs, operatorCold) / medianOf(rs, kubectlCold) }
	parRatio := func(r *runResult) float64 { return operatorCold(r) / kubectlPar(r) }
	parRatioOfMedians := func(rs []*runResult) float64 { return medianOf(rs, operatorCold) / medianOf(rs, kubectlPar) }
	objects := float64(4 * cfg.services)
	planeCPU := func(phase string) func(*runResult) float64 {
		return func(r *runResult) float64 { return r.Breakdown.PlaneCPU[phase].Seconds() }
	}
	workers := cfg.kubectlWorkers
	return []measure{
		{"Manifest: load + validate + render of 500 services (`" + pipelineBenchmark + "`), time", "< 50 ms", "ms", func(r *runResult) float64 { return r.Pipeline.NsPerOp / 1e6 }, nil},
		{"Manifest: the same, allocated", "< 50 MB", "MB", func(r *runResult) float64 { return r.Pipeline.BytesPerOp / 1e6 }, nil},
		{"Manifest: the same, allocations", "", "n", func(r *runResult) float64 { return r.Pipeline.AllocsPerOp }, nil},
		{"Cold apply: operator, process start → first sync that applied everything", "", "s", operatorCold, nil},
		{"Cold apply: `kubectl apply --server-side` of the same objects, one process", "", "s", kubectlCold, nil},
		{"Cold apply: operator ÷ kubectl (ratio of the medians; runs: each run's ratio)", "≤ 0.5", "x", ratio, ratioOfMedians},
		{fmt.Sprintf("Cold apply: kubectl, %d processes at once (`xargs -P %d`), each every %dth object", workers, workers, workers), "", "s", kubectlPar, nil},
		{fmt.Sprintf("Cold apply: operator ÷ kubectl with %d processes (ratio of the medians)", workers), "", "x", parRatio, parRatioOfMedians},
		{"Cold apply: objects the operator created", fmt.Sprint(4 * cfg.services), "n", func(r *runResult) float64 { return r.ObjectsApplied }, nil},
		{"Cold apply: objects kubectl applied", fmt.Sprint(4 * cfg.services), "n", func(r *runResult) float64 { return float64(r.KubectlObjects) }, nil},
		{"Cold apply: operator CPU time (user + system)", "", "s", func(r *runResult) float64 { return r.OperatorCPU.Seconds() }, nil},
		{"Cold apply: kubectl CPU time (user + system), one process", "", "s", func(r *runResult) float64 { return r.KubectlCPU.Seconds() }, nil},
		{"Cold apply: the operator's API server requests", "", "n", func(r *runResult) float64 { return r.OperatorCalls }, nil},
		{"Cold apply: the operator's syncs until then", "", "s", func(r *runResult) float64 { return r.OperatorSync.Seconds() }, nil},
		{"Cold apply, breakdown: process start → first sync begins (clients, state, informers and audit at once, drift watch, first fetch)", "", "s", func(r *runResult) float64 { return r.Breakdown.Start.Seconds() }, nil},
		{"Cold apply, breakdown: the services' state written", "", "s", func(r *runResult) float64 { return r.Breakdown.State.Seconds() }, nil},
		{"Cold apply, breakdown: objects applied", "", "s", func(r *runResult) float64 { return r.Breakdown.Apply.Seconds() }, nil},
		{"Cold apply, breakdown: pruning", "", "s", func(r *runResult) float64 { return r.Breakdown.Prune.Seconds() }, nil},
		{"Cold apply, breakdown: load, render and the rest of the sync", "", "s", func(r *runResult) float64 { return r.Breakdown.Other.Seconds() }, nil},
		{"Cold apply, API server + etcd CPU: during the start", "", "s", planeCPU("start"), nil},
		{"Cold apply, API server + etcd CPU: while the state is written", "", "s", planeCPU("state"), nil},
		{"Cold apply, API server + etcd CPU: while objects are applied", "", "s", planeCPU("apply"), nil},
		{"Cold apply, API server + etcd CPU: while pruning", "", "s", planeCPU("prune"), nil},
		{"Cold apply, API server + etcd CPU per object while the operator applies", "", "ms", func(r *runResult) float64 { return ms(r.Breakdown.PlaneCPU["apply"].Seconds()) / objects }, nil},
		{"Cold apply, APPLY request duration by the API server, mean, operator", "", "ms", func(r *runResult) float64 { return ms(r.Breakdown.ApplyLatency.Seconds()) }, nil},
		{"Floor: API server + etcd CPU per object, server-side dry run of the same apply (no write, no watchers, no controllers)", "", "ms", func(r *runResult) float64 { return ms(r.Floor.DryRunCPUPerObject.Seconds()) }, nil},
		{"Floor: that CPU per object × objects ÷ CPUs (no client can apply faster on this machine)", "", "s", func(r *runResult) float64 { return r.Floor.seconds(4 * cfg.services) }, nil},
		{"Floor: API server + etcd CPU per object while kubectl applies alone, the controllers' reactions included", "", "ms", func(r *runResult) float64 { return ms(r.Floor.PlaneCPUPerObject.Seconds()) }, nil},
		{"Floor: APPLY request duration by the API server, mean, kubectl alone", "", "ms", func(r *runResult) float64 { return ms(r.Floor.ApplyLatency.Seconds()) }, nil},
		{"Cold apply: operator, process start → every service green", "", "s", func(r *runResult) float64 { return r.OperatorGreen.Seconds() }, nil},
		{"No-op resync: writes to Deployments, Services, Ingresses, HPAs", "0", "n", func(r *runResult) float64 { return r.Noop.Writes.Objects }, nil},
		{"No-op resync: ConfigMap writes (the operator's audit and state)", "0", "n", func(r *runResult) float64 { return r.Noop.Writes.ConfigMaps }, nil},
		{"No-op resync: Event writes (every writer)", "", "n", func(r *runResult) float64 { return r.Noop.Writes.Events }, nil},
		{"No-op resync: dry-run requests (persist nothing)", "", "n", func(r *runResult) float64 { return r.Noop.Writes.DryRun }, nil},
		{"No-op resync: the operator's API server requests, all verbs", "", "n", func(r *runResult) float64 { return r.Noop.Writes.Operator }, nil},
		{"No-op resync: webhook → revision applied (git server)", "", "s", func(r *runResult) float64 { return r.Noop.Duration.Seconds() }, nil},
		{"No-op resync: the sync alone", "", "s", func(r *runResult) float64 { return r.Noop.Sync.Seconds() }, nil},
		{"No-op resync, repository folder instead of the git server: webhook → revision applied", "", "s", func(r *runResult) float64 { return r.Local.Noop.Duration.Seconds() }, nil},
		{"No-op resync, repository folder: the sync alone", "", "s", func(r *runResult) float64 { return r.Local.Noop.Sync.Seconds() }, nil},
		{fmt.Sprintf("Deploy: 202 accepted → succeeded, p50 of %d", cfg.deploys), "", "s", func(r *runResult) float64 { return r.Deploys.P50.Seconds() }, nil},
		{fmt.Sprintf("Deploy: 202 accepted → succeeded, p95 of %d", cfg.deploys), "", "s", func(r *runResult) float64 { return r.Deploys.P95.Seconds() }, nil},
		{"Deploy: deploys not succeeded", "0", "n", func(r *runResult) float64 { return float64(r.Deploys.Failed) }, nil},
		{fmt.Sprintf("`GET /status`: throughput, %d clients for %s", cfg.statusWorkers, cfg.statusFor), "", "/s", func(r *runResult) float64 { return r.Status.PerSecond }, nil},
		{"`GET /status`: p50", "", "ms", func(r *runResult) float64 { return ms(r.Status.P50.Seconds()) }, nil},
		{"`GET /status`: p99", "", "ms", func(r *runResult) float64 { return ms(r.Status.P99.Seconds()) }, nil},
		{"`GET /status`: failed calls", "0", "n", func(r *runResult) float64 { return float64(r.Status.Errors) }, nil},
		{"`GET /status`: API server requests per call", "0", "f", func(r *runResult) float64 { return r.Status.perCall() }, nil},
		{fmt.Sprintf("`GET /status` during a rollout of every service: throughput, %d clients", cfg.statusWorkers), "", "/s", func(r *runResult) float64 { return r.StatusRollout.PerSecond }, nil},
		{"`GET /status` during the rollout: p50", "", "ms", func(r *runResult) float64 { return ms(r.StatusRollout.P50.Seconds()) }, nil},
		{"`GET /status` during the rollout: p99", "", "ms", func(r *runResult) float64 { return ms(r.StatusRollout.P99.Seconds()) }, nil},
		{"`GET /status` during the rollout: failed calls", "0", "n", func(r *runResult) float64 { return float64(r.StatusRollout.Errors) }, nil},
		{"`GET /status` during the rollout: different answers seen", "", "n", func(r *runResult) float64 { return float64(r.StatusRollout.Bodies) }, nil},
		{"`GET /status` during the rollout: API server requests per call", "< 0.001", "f", func(r *runResult) float64 { return r.StatusRollout.perCall() }, nil},
		{"Commit → applied, webhook (git server)", "", "s", func(r *runResult) float64 { return r.Webhook.Applied.Seconds() }, nil},
		{"Commit → service green, webhook (git server)", "", "s", func(r *runResult) float64 { return r.Webhook.Green.Seconds() }, nil},
		{"Commit → applied, webhook, repository folder instead of the git server", "", "s", func(r *runResult) float64 { return r.Local.Webhook.Applied.Seconds() }, nil},
		{fmt.Sprintf("Commit → applied, polling the git server every %s", cfg.pollInterval), "", "s", func(r *runResult) float64 { return r.Polling.Applied.Seconds() }, nil},
		{fmt.Sprintf("Commit → service green, polling the git server every %s", cfg.pollInterval), "", "s", func(r *runResult) float64 { return r.Polling.Green.Seconds() }, nil},
		{"Operator peak RSS (VmHWM) when the first sync is applied", "", "MiB", func(r *runResult) float64 { return mib(r.PeakRSSCold) }, nil},
		{"Operator peak RSS (VmHWM) after every phase", "< 100 MiB", "MiB", func(r *runResult) float64 { return mib(r.PeakRSS) }, nil},
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
	b.WriteString("| Measure | Median | Runs | Target | Verdict |\n|---|---:|---|---|---|\n")
	for _, m := range measures(cfg) {
		var runs []string
		for _, r := range results {
			runs = append(runs, format(m.get(r), m.unit))
		}
		v := medianOf(results, m.get)
		if m.summary != nil {
			v = m.summary(results)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", m.name, format(v, m.unit), strings.Join(runs, ", "), m.target, verdict(m.target, v))
	}
	return b.String()
}

// report prints the table and writes the Markdown report.
func (b *bench) report(env *environment, results, curve []*runResult) error {
	env.LoadEnd = loadAverage()
	t := table(b.cfg, results)
	c := curveTable(results, curve)
	fmt.Printf("Cost curve:\n\n%s\n", c)
	fmt.Printf("\n%d services, %d runs (medians, then each run):\n\n%s\n", b.cfg.services, len(results), t)
	details := objectDetails(results)
	if details != "" {
		fmt.Println(details)
	}
	if b.cfg.out == "" {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(b.cfg.out), 0o755); err != nil {
		return err
	}
	svg := ""
	if len(curve) > 0 {
		svg = strings.TrimSuffix(filepath.Base(b.cfg.out), ".md") + "-curve.svg"
		if err := os.WriteFile(filepath.Join(filepath.Dir(b.cfg.out), svg), []byte(curveSVG(curvePoints(results, curve))), 0o644); err != nil {
			return fmt.Errorf("write the curve: %w", err)
		}
	}
	doc := document(b, env, t, details, curveSection(b.cfg, c, curveGoals(results, curve)+b.pacing(), svg))
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

// pacing says how often the controller manager waited for its own client's
// rate limit (default 20 requests a second per controller) for more than a
// second during the bench: client-go logs each such wait. Rollouts, and so
// "every service green", wait on it.
func (b *bench) pacing() string {
	data, err := os.ReadFile(filepath.Join(b.work, "cluster", "logs", "kube-controller-manager.log"))
	if err != nil {
		return ""
	}
	n := strings.Count(string(data), "client-side throttling")
	return fmt.Sprintf("\nThe controller manager (default client limits: 20 requests a second per controller) logged %d waits of more than a second\n"+
		"for its own client's rate limit during the bench (\"client-side throttling\" in its log): what paces a rollout, and so \"every service\n"+
		"green\", at the larger sizes is the controllers, not the operator, whose own deploy evaluations are in the breakdown above.\n", n)
}
