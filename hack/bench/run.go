package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/envop/envop/internal/localcluster"
)

// config holds the flags.
type config struct {
	bin, envop, out string
	services, runs  int
	curve           []int
	kubectlWorkers  int
	deploys         int
	commits         int
	statusWorkers   int
	statusFor       time.Duration
	pollInterval    time.Duration
	keep            bool
}

func parseFlags(args []string) (config, error) {
	var c config
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.StringVar(&c.bin, "bin", "", "directory of the control-plane binaries (hack/controlplane/build.sh --print-dir)")
	fs.StringVar(&c.envop, "envop", "bin/envop", "the envop binary under test")
	fs.StringVar(&c.out, "out", "docs/benchmarks.md", "where to write the report; empty writes none")
	fs.IntVar(&c.services, "services", 200, "services in the environment (each a Deployment, Service, Ingress and HPA)")
	fs.IntVar(&c.runs, "runs", 3, "repetitions; the report gives medians and every run")
	fs.IntVar(&c.deploys, "deploys", 20, "sequential deploys per run for the deploy latency")
	fs.IntVar(&c.commits, "commits", 3, "commits per run for each commit-to-applied latency")
	fs.IntVar(&c.statusWorkers, "status-workers", 8, "concurrent clients of GET /status")
	fs.DurationVar(&c.statusFor, "status-duration", 10*time.Second, "how long the GET /status load runs")
	fs.DurationVar(&c.pollInterval, "poll-interval", 2*time.Second, "the second operator's --poll-interval")
	fs.BoolVar(&c.keep, "keep", false, "keep the work directory (logs, repository, cluster state)")
	curve := fs.String("curve", "", "more environment sizes for the cost curve, comma-separated (one run each): 1000,2000")
	fs.IntVar(&c.kubectlWorkers, "kubectl-workers", 8, "kubectl processes of the parallel cold apply (the operator's apply workers)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	for _, f := range strings.FieldsFunc(*curve, func(r rune) bool { return r == ',' || r == ' ' }) {
		n, err := strconv.Atoi(f)
		if err != nil || n < 3 {
			return c, fmt.Errorf("--curve %q: want sizes of at least 3 services, comma-separated", *curve)
		}
		c.curve = append(c.curve, n)
	}
	switch {
	case c.bin == "":
		return c, errors.New("--bin is required (bash hack/controlplane/build.sh --print-dir)")
	case c.services < 3 || c.runs < 1 || c.deploys < 1 || c.commits < 1 || c.statusWorkers < 1:
		return c, errors.New("--services must be at least 3; --runs, --deploys, --commits, --status-workers at least 1")
	}
	var err error
	c.envop, err = filepath.Abs(c.envop)
	return c, err
}

// bench is what every run shares: the plane and the binaries.
type bench struct {
	cfg     config
	cluster *localcluster.Cluster
	work    string
	kubectl string
	args    []string
}

func run(ctx context.Context, args []string) error {
	cfg, err := parseFlags(args)
	if err != nil {
		return err
	}
	b := &bench{cfg: cfg, kubectl: filepath.Join(cfg.bin, "kubectl"), args: args}
	if b.work, err = os.MkdirTemp("", "envop-bench-"); err != nil {
		return err
	}
	// The pipeline benchmark is CPU-bound: it runs before the plane starts,
	// once per run, so the plane's own work does not land in its numbers.
	logf("manifest pipeline benchmark, %d runs", cfg.runs)
	pipelines, err := pipelineBench(ctx, cfg.runs)
	if err != nil {
		return err
	}
	env, err := b.start(ctx)
	defer b.cleanup(&err)
	if err != nil {
		return err
	}
	results, err := b.runAll(ctx)
	if err != nil {
		return err
	}
	for i, r := range results {
		r.Pipeline = pipelines[i]
	}
	curve, err := b.runCurve(ctx, len(results))
	if err != nil {
		return err
	}
	return b.report(env, results, curve)
}

// start brings up the plane and records the machine and versions.
func (b *bench) start(ctx context.Context) (*environment, error) {
	if _, err := os.Stat(b.cfg.envop); err != nil {
		return nil, fmt.Errorf("the envop binary (go build -o bin/envop ./cmd/envop): %w", err)
	}
	logf("starting a local control plane in %s", b.work)
	c, err := localcluster.Start(ctx, localcluster.Config{
		BinDir: b.cfg.bin, Dir: filepath.Join(b.work, "cluster"), Nodes: benchNodes(), Progress: progress{},
	})
	if err != nil {
		return nil, err
	}
	b.cluster = c
	return describe(ctx, b)
}

func (b *bench) runAll(ctx context.Context) ([]*runResult, error) {
	var results []*runResult
	for i := range b.cfg.runs {
		res, err := b.runOnce(ctx, i+1, b.cfg.services, false)
		if err != nil {
			return nil, fmt.Errorf("run %d: %w", i+1, err)
		}
		results = append(results, res)
	}
	return results, nil
}

// runCurve runs once at each size of the cost curve, numbering the runs
// after the first done ones.
func (b *bench) runCurve(ctx context.Context, done int) ([]*runResult, error) {
	var out []*runResult
	for i, n := range b.cfg.curve {
		res, err := b.runOnce(ctx, done+i+1, n, true)
		if err != nil {
			return nil, fmt.Errorf("cost curve, %d services: %w", n, err)
		}
		out = append(out, res)
	}
	return out, nil
}

// cleanup stops the plane and removes the work directory, unless asked to
// keep it or the bench failed (its logs explain why).
func (b *bench) cleanup(err *error) {
	if b.cluster != nil {
		logf("stopping the control plane")
		b.cluster.Stop()
	}
	if b.cfg.keep || *err != nil {
		logf("work directory kept: %s", b.work)
		return
	}
	_ = os.RemoveAll(b.work)
}

// logf prints one progress line to stderr; the results go to stdout.
func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s bench: %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

// progress prints the plane's start-up steps as bench progress.
type progress struct{}

func (progress) Write(p []byte) (int, error) {
	fmt.Fprintf(os.Stderr, "%s bench: %s", time.Now().Format("15:04:05"), p)
	return len(p), nil
}
