package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// runResult is what one run measured.
type runResult struct {
	OperatorCold   time.Duration // process start → first sync applied (/readyz)
	OperatorSync   time.Duration // that sync alone (envop_sync_duration_seconds)
	OperatorGreen  time.Duration // process start → every service green in /status
	OperatorCPU    time.Duration // CPU time the operator used until then
	OperatorCalls  float64       // API server requests it sent until then
	ObjectsApplied float64       // objects the first sync created (envop_objects_applied_total)
	KubectlCold    time.Duration // kubectl apply --server-side of the rendered objects
	KubectlCPU     time.Duration // CPU time kubectl used
	KubectlObjects int           // objects in the rendered file
	Noop           noopResult
	Deploys        deployResult
	Status         statusResult
	StatusRollout  statusResult // GET /status while every service rolls out
	Webhook        commitResult
	Polling        commitResult
	Breakdown      breakdown     // where the operator's cold time went
	Floor          floor         // what the API server costs per object
	KubectlPar     time.Duration // the same objects by kubectl processes in parallel
	Local          localResult   // the same operator reading a folder, no git server
	Services       int           // services in the environment of this run
	PeakRSSCold    int64         // VmHWM of the operator when its first sync is applied
	PeakRSS        int64         // VmHWM of the operator at the end of its phases
	RSS            int64         // VmRSS at the same moment
	Pipeline       pipelineResult
}

// trial is one run: two fresh namespaces, a repository, the operator.
type trial struct {
	*bench
	n          int
	services   int
	dir        string
	opNS, kcNS string
	repo       *repo
	git        *gitServer
	versions   map[string]string
	op         *operatorProc
	opArgs     operatorArgs
	client     api
	res        *runResult
}

// runOnce measures every phase once, in fresh namespaces it removes after.
// A run of the cost curve (curve) measures only what the curve's table
// shows: cold apply, the no-op resync, GET /status and memory.
func (b *bench) runOnce(ctx context.Context, n, services int, curve bool) (*runResult, error) {
	t := &trial{bench: b, n: n, services: services, dir: filepath.Join(b.work, fmt.Sprintf("run-%d", n)),
		opNS: fmt.Sprintf("bench-op-%d", n), kcNS: fmt.Sprintf("bench-kubectl-%d", n),
		versions: map[string]string{}, res: &runResult{Services: services}}
	defer func() {
		t.op.stop()
		t.git.stop()
		if ctx.Err() == nil { // interrupted: the plane goes away with them
			logf("run %d: removing its namespaces", n)
			b.deleteNamespaces(ctx, t.opNS, t.kcNS)
		}
	}()
	type step struct {
		what string
		run  func(context.Context) error
	}
	steps := []step{
		{"prepare", t.prepare},
		{"cold apply", t.cold},
		{"no-op resync", t.noop},
		{"deploy latency", t.deploys},
		{"GET /status load", t.statusLoad},
		{"GET /status load during a rollout", t.statusUnderRollout},
		{"commit to applied by webhook", t.webhookCommits},
		{"peak memory", t.memory},
		{"commit to applied by polling", t.pollingCommits},
		{"a folder instead of a git server", t.localFolder},
	}
	if curve {
		steps = []step{
			{"prepare", t.prepare},
			{"cold apply", t.cold},
			{"no-op resync", t.noop},
			{"GET /status load", t.statusLoad},
			{"peak memory", t.memory},
		}
	}
	logf("run %d: %d services", n, services)
	for _, s := range steps {
		logf("run %d: %s", n, s.what)
		if err := s.run(ctx); err != nil {
			return nil, fmt.Errorf("%s: %w", s.what, err)
		}
	}
	return t.res, nil
}

// prepare creates the namespaces, the operator's account, its token files
// and the repository holding the environment.
func (t *trial) prepare(ctx context.Context) error {
	if err := os.MkdirAll(t.dir, 0o700); err != nil {
		return err
	}
	for _, ns := range []string{t.opNS, t.kcNS} {
		if err := t.createNamespace(ctx, ns); err != nil {
			return err
		}
	}
	t.opArgs = operatorArgs{dir: t.dir, namespace: t.opNS, repo: filepath.Join(t.dir, "repo"),
		kubeconfig: filepath.Join(t.dir, "envop.kubeconfig"), poll: time.Hour,
		tokenFile: filepath.Join(t.dir, "tokens"), secretFile: filepath.Join(t.dir, "webhook-secret")}
	if err := t.serviceAccount(ctx, t.opNS, t.opArgs.kubeconfig); err != nil {
		return err
	}
	if err := t.writeSecrets(); err != nil {
		return err
	}
	var err error
	if t.repo, err = newRepo(t.opArgs.repo); err != nil {
		return err
	}
	if _, err = t.repo.commit(t.manifest(), "environment of the bench"); err != nil {
		return err
	}
	if t.git, err = serveGit(t.opArgs.repo); err != nil {
		return err
	}
	t.opArgs.remote = t.git.url
	return nil
}

func (t *trial) manifest() string { return manifestOf(t.opNS, t.services, t.versions) }

// writeSecrets writes the API token and the webhook secret.
func (t *trial) writeSecrets() error {
	token, secret := randomHex(), randomHex()
	if err := os.WriteFile(t.opArgs.tokenFile, []byte("bench-"+token+" bench admin\n"), 0o600); err != nil {
		return err
	}
	if err := os.WriteFile(t.opArgs.secretFile, []byte(secret), 0o600); err != nil {
		return err
	}
	transport := &http.Transport{MaxIdleConnsPerHost: t.cfg.statusWorkers}
	t.client = api{token: "bench-" + token, secret: []byte(secret), http: &http.Client{Transport: transport}}
	return nil
}

func randomHex() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// startOperator starts an operator of this run, named for its log file.
func (t *trial) startOperator(name string, poll time.Duration) (*operatorProc, error) {
	a := t.opArgs
	a.name, a.poll = name, poll
	return startOperator(t.cfg.envop, a, t.client)
}
