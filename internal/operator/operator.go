package operator

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/envop/envop/internal/apply"
	"github.com/envop/envop/internal/audit"
	"github.com/envop/envop/internal/auth"
	"github.com/envop/envop/internal/controller"
	"github.com/envop/envop/internal/deploy"
	"github.com/envop/envop/internal/gitaddr"
	"github.com/envop/envop/internal/health"
	"github.com/envop/envop/internal/manifest"
	"github.com/envop/envop/internal/metrics"
	"github.com/envop/envop/internal/render"
	"github.com/envop/envop/internal/source"
	"github.com/envop/envop/internal/state"
	"github.com/envop/envop/internal/takeover"
	"github.com/envop/envop/internal/vault"
)

// Options are the settings of `envop serve`.
type Options struct {
	// RestConfig, when set, is used instead of Kubeconfig (embedding, tests).
	RestConfig  *rest.Config
	Kubeconfig  string
	Namespace   string
	Environment string

	GitRepo string
	Git     source.GitOptions
	File    string
	// GistsCredentials authenticate to the gists repository the file names
	// (GISTS_USER, GISTS_TOKEN, GISTS_PRIVATE_KEY); when none is set, Git's
	// serve a gists repository on the repository's own server only.
	GistsCredentials source.Credentials

	PollInterval time.Duration
	// GitTimeout bounds one fetch of the repository (and its gists
	// repository): a server that never answers is an error after it.
	GitTimeout     time.Duration
	ResyncInterval time.Duration

	Listen string
	// Listener, when set, is served instead of listening on Listen.
	Listener net.Listener
	// MetricsListen, when set, is where /metrics is served instead of on
	// Listen; MetricsListener, when set, is served instead of listening on
	// it.
	MetricsListen   string
	MetricsListener net.Listener
	// TLSCertFile and TLSKeyFile make the API serve HTTPS; they are read
	// again when they change.
	TLSCertFile string
	TLSKeyFile  string

	Render      render.Options
	PruneClaims bool
	AllowEmpty  bool
	// PruneAdopted deletes what the original Environment Operator made
	// that the file does not render (docs/migrating.md).
	PruneAdopted bool

	// AuthTokenFile and the OIDC settings authenticate API callers.
	AuthTokenFile     string
	OIDCIssuerURL     string
	OIDCClientID      string
	OIDCAllowedGroups []auth.GroupRule
	// TrustedProxies are the peers whose X-Forwarded-For names the client,
	// for the failed-authentication limiter, the logs and the audit.
	TrustedProxies []netip.Prefix
	// WebhookSecretFile holds the secret webhook calls are signed with.
	WebhookSecretFile string
	// LeaderElect makes replicas share a Lease: one works, the others wait.
	LeaderElect bool
	// Vault, when configured, is where `tls: {vault: PATH}` certificates come from.
	Vault vault.Options
	// Policy is what the installer allows environment files to reference
	// (see docs/security.md); Validate defaults its Vault prefix.
	Policy manifest.Policy

	Log *slog.Logger
}

// Parts are the running components an HTTP API is built from.
type Parts struct {
	Controller *controller.Controller
	Applier    *apply.Applier
	Tracker    *deploy.Tracker
	Store      *state.Store
	Monitor    *health.Monitor
	Poller     *source.Poller
	Metrics    *metrics.Metrics
	Audit      *audit.Store
	Client     kubernetes.Interface
	Namespace  string
	Env        string
}

// Run starts the operator and blocks until ctx ends or a part fails to start.
func Run(ctx context.Context, opts Options) error {
	if err := opts.Validate(); err != nil {
		return err
	}
	log := opts.Log
	cfg := opts.RestConfig
	if cfg == nil {
		var err error
		if cfg, err = RestConfig(opts.Kubeconfig, ""); err != nil {
			return err
		}
	}
	client, err := kubernetes.NewForConfig(protobuf(cfg))
	if err != nil {
		return fmt.Errorf("kubernetes client: %w", err)
	}
	run := func(ctx context.Context) error {
		parts, err := assemble(ctx, opts, cfg, client)
		if err != nil {
			return err
		}
		log.Info("operator started", "namespace", opts.Namespace, "environment", opts.Environment,
			"listen", opts.Listen, "metrics_listen", opts.MetricsListen)
		return serve(ctx, opts, parts)
	}
	if opts.LeaderElect {
		return whileLeading(ctx, client, opts, run)
	}
	return run(ctx)
}

// Validate checks the options and fills defaults; Run calls it too.
func (o *Options) Validate() error {
	var missing []string
	if o.Namespace == "" {
		missing = append(missing, "--namespace (NAMESPACE)")
	}
	if o.Environment == "" {
		missing = append(missing, "--environment (ENVIRONMENT_NAME)")
	}
	if o.GitRepo == "" {
		missing = append(missing, "--git-repo (GIT_REMOTE_REPOSITORY)")
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing %s", strings.Join(missing, ", "))
	}
	if o.File == "" {
		o.File = manifest.DefaultFile
	}
	if o.Git.Branch != "" {
		if err := gitaddr.CheckBranch(o.Git.Branch); err != nil {
			return fmt.Errorf("--git-branch (GIT_BRANCH) %q: %w", o.Git.Branch, err)
		}
	}
	if o.Listen == "" {
		o.Listen = ":8080"
	}
	if o.PollInterval <= 0 {
		o.PollInterval = 30 * time.Second
	}
	if o.GitTimeout <= 0 {
		o.GitTimeout = source.DefaultFetchTimeout
	}
	if o.ResyncInterval <= 0 {
		o.ResyncInterval = 10 * time.Minute
	}
	if (o.TLSCertFile == "") != (o.TLSKeyFile == "") {
		return errors.New("--tls-cert-file and --tls-key-file go together")
	}
	if o.Vault.Configured() && o.Policy.VaultPathPrefix == "" {
		// Without a prefix, an environment reads only Vault paths of its own.
		o.Policy.VaultPathPrefix = o.Namespace
	}
	o.Policy.VaultMount = cmp.Or(o.Vault.Mount, o.Policy.VaultMount, vault.DefaultMount)
	if err := o.Policy.Validate(); err != nil {
		return err
	}
	if err := render.CheckRegistry(o.Render.Registry); err != nil {
		return fmt.Errorf("--registry (DOCKER_REGISTRY) %q: %w", o.Render.Registry, err)
	}
	if o.Log == nil {
		o.Log = slog.New(slog.NewJSONHandler(os.Stderr, nil))
	}
	return nil
}

// metricsApart says whether /metrics has a listener of its own.
func (o Options) metricsApart() bool { return o.MetricsListen != "" || o.MetricsListener != nil }

// ErrConfig marks a failure to start that lies in the settings given (no
// way to reach the cluster), not in the cluster: serve exits 2 for it.
var ErrConfig = errors.New("bad configuration")

// RestConfig uses the kubeconfig when given (a file, or a list of them as
// in KUBECONFIG) with its context kubeContext (the current one when
// empty), else the in-cluster config. Client-side limits are raised: the
// default 5 requests per second would throttle a large environment.
func RestConfig(kubeconfig, kubeContext string) (*rest.Config, error) {
	var cfg *rest.Config
	var err error
	if kubeconfig != "" {
		rules := &clientcmd.ClientConfigLoadingRules{ExplicitPath: kubeconfig}
		if paths := filepath.SplitList(kubeconfig); len(paths) > 1 {
			rules = &clientcmd.ClientConfigLoadingRules{Precedence: paths}
		}
		cfg, err = clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: kubeContext}).ClientConfig()
	} else {
		cfg, err = rest.InClusterConfig()
	}
	if errors.Is(err, rest.ErrNotInCluster) {
		return nil, fmt.Errorf("%w: no --kubeconfig (KUBECONFIG) given, and not running in a cluster", ErrConfig)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: kubernetes config: %w", ErrConfig, err)
	}
	cfg.QPS, cfg.Burst = apply.DefaultQPS, apply.DefaultBurst
	cfg.UserAgent = "envop"
	return cfg, nil
}

// protobuf returns a copy of cfg that speaks Protocol Buffers, as the
// control plane's own controllers do: for the built-in kinds a typed client
// reads and watches, it costs the API server and the operator a fraction of
// JSON's encoding time. Server-side apply and custom resources, which the
// dynamic client handles, stay JSON.
func protobuf(cfg *rest.Config) *rest.Config {
	cfg = rest.CopyConfig(cfg)
	cfg.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	cfg.ContentType = "application/vnd.kubernetes.protobuf"
	return cfg
}

// assemble builds and starts every part but the poller and HTTP server.
func assemble(ctx context.Context, opts Options, cfg *rest.Config, client kubernetes.Interface) (Parts, error) {
	log := opts.Log
	m := metrics.New()
	store := state.NewStore(client, opts.Namespace, opts.Environment)
	monitor := health.NewMonitor(client, opts.Namespace, opts.Environment, log)
	auditStore := audit.NewStore(client, opts.Namespace, opts.Environment, log, audit.DefaultRetention)
	// The three reads are independent: done at once, the start costs the
	// slowest, not their sum.
	err := startConcurrently(m,
		startStep{"state", func() error { return wrap("load state", store.Load(ctx)) }},
		startStep{"informers", func() error { return wrap("start health monitor", monitor.Start(ctx)) }},
		startStep{"audit", func() error { return wrap("load audit records", auditStore.Load(ctx)) }},
	)
	if err != nil {
		return Parts{}, err
	}
	applier, err := apply.New(cfg, apply.Options{
		Namespace: opts.Namespace, Environment: opts.Environment,
		PruneClaims: opts.PruneClaims, AllowEmpty: opts.AllowEmpty, Logger: log,
		Inventory: state.NewInventory(client, opts.Namespace, opts.Environment),
	})
	if err != nil {
		return Parts{}, fmt.Errorf("applier: %w", err)
	}
	var vaultSource *vault.Source
	if opts.Vault.Configured() {
		opts.Vault.Log = log
		if vaultSource, err = vault.New(opts.Vault); err != nil {
			return Parts{}, fmt.Errorf("vault: %w", err)
		}
	}
	hv := healthView{monitor}
	tracker := deploy.NewTracker(store, hv, log)
	var ctrl *controller.Controller
	tracker.OnAccept = func(d state.Deploy) { ctrl.DeployEvent(d) }
	tracker.OnEnd = func(d state.Deploy) {
		m.Deploys.WithLabelValues(d.Status).Inc()
		ctrl.DeployEvent(d)
	}
	ctrl = controller.New(controller.Config{
		Namespace: opts.Namespace, Environment: opts.Environment, File: opts.File, Render: opts.Render,
		AllowEmpty: opts.AllowEmpty, Policy: opts.Policy, PruneAdopted: opts.PruneAdopted,
	}, controller.Deps{
		Applier: applier, Store: store, Tracker: tracker, Health: hv, Metrics: m, Vault: vaultSource,
		OwnSecrets: ownSecrets(client, opts.Namespace, log),
		Originals:  takeover.Namespace{Client: client, Name: opts.Namespace},
		Events:     newEvents(ctx, client, opts.Namespace, log), Log: log,
		Audit: func(ctx context.Context, r audit.Record) {
			if err := auditStore.Add(ctx, r); err != nil {
				log.Error("audit write failed", "error", err)
			}
		},
	})
	err = startConcurrently(m, startStep{"drift watch", func() error {
		return applier.WatchDrift(ctx, func() { ctrl.Enqueue(controller.TriggerDrift) })
	}})
	if err != nil {
		return Parts{}, err
	}
	src, err := newSource(opts)
	if err != nil {
		return Parts{}, err
	}
	return Parts{
		Controller: ctrl, Applier: applier, Tracker: tracker, Store: store, Monitor: monitor, Metrics: m, Audit: auditStore, Client: client,
		Poller: source.NewPoller(src, opts.PollInterval, opts.GitTimeout, log), Namespace: opts.Namespace, Env: opts.Environment,
	}, nil
}

// newSource is the repository, with the gists repository its file names
// for the environment (docs/operator.md#gists-repositories).
func newSource(opts Options) (source.Source, error) {
	if opts.Git.Logger == nil {
		opts.Git.Logger = opts.Log
	}
	src, err := source.New(opts.GitRepo, opts.Git)
	if err != nil {
		return nil, fmt.Errorf("repository: %w", err)
	}
	opts.Log.Info("repository configured", "repository", src.String(), "branch", opts.Git.Branch, "file", opts.File)
	return source.WithGists(src, source.GistsOptions{
		Locate: locateGists(opts.File, opts.Environment), Repository: opts.GitRepo, Git: opts.Git,
		Credentials: opts.GistsCredentials,
	}), nil
}

// locateGists returns where the environment's gists are read from, for
// the source to fetch: its gists_repository, when a valid file names one
// and the environment has gists. A file with errors names none: the
// controller reports them.
func locateGists(file, environment string) func(fs.FS) source.Ref {
	return func(tree fs.FS) source.Ref {
		f, diags, err := manifest.LoadFS(tree, file)
		if err != nil || diags.HasErrors() {
			return source.Ref{}
		}
		env := f.Environment(environment)
		if env == nil || !env.ReadsGistsRepository() {
			return source.Ref{}
		}
		return source.Ref{URL: env.GistsRepository.Remote, Branch: env.GistsRepository.Branch}
	}
}

// healthView adapts the health monitor to what the deploy tracker needs.
type healthView struct{ m *health.Monitor }

func (h healthView) Workload(name string) deploy.Workload {
	w, ok := h.m.Workload(name)
	if !ok {
		return deploy.Workload{}
	}
	return deploy.Workload{Exists: true, Version: w.Version, Status: string(w.Status), Reason: w.Reason, Message: w.Message}
}

// startStep is one step of the operator's start, named for
// envop_startup_step_seconds.
type startStep struct {
	name string
	run  func() error
}

// startConcurrently runs steps at once and records how long each took.
func startConcurrently(m *metrics.Metrics, steps ...startStep) error {
	errs := make([]error, len(steps))
	var wg sync.WaitGroup
	for i, s := range steps {
		wg.Go(func() {
			start := time.Now()
			errs[i] = s.run()
			m.StartupStep(s.name, time.Since(start))
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// wrap adds what failed to err, nil staying nil.
func wrap(what string, err error) error {
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}
