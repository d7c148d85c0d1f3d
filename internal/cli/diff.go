package cli

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"os"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/envop/envop/internal/api"
	"github.com/envop/envop/internal/apply"
	"github.com/envop/envop/internal/client"
	"github.com/envop/envop/internal/manifest"
	"github.com/envop/envop/internal/operator"
	"github.com/envop/envop/internal/plan"
	"github.com/envop/envop/internal/render"
	"github.com/envop/envop/internal/state"
	"github.com/envop/envop/internal/takeover"
	"github.com/envop/envop/internal/vault"
)

type diffFlags struct {
	renderFlags
	kubeconfig, context string
	pruneClaims         bool
	noState             bool
	// remote reaches an operator's POST /diff instead of the cluster.
	remote clientFlags
}

// remoteDiffFlags are the flags the --endpoint form takes: the others say
// how to render, which the operator decides.
var remoteDiffFlags = map[string]bool{
	"file": true, "env": true, "gists-dir": true, "endpoint": true, "token": true, "token-file": true,
	"ca-file": true, "insecure-skip-verify": true, "request-timeout": true,
}

func newDiffCmd(streams Streams) *cobra.Command {
	fl := &diffFlags{}
	cmd := &cobra.Command{
		Use:   "diff [-f] FILE --env NAME [--kubeconfig K | --endpoint URL]",
		Short: "Show what a sync of FILE would change in the cluster (server-side dry run)",
		Long: `Diff renders one environment of FILE as the operator would, server-side-applies each object as a
dry run with the operator's field manager, and compares the result with the live object. Versions
deployed through the API and promotions are read from the operator's state in the namespace, by the
operator's own version plan, so only what the file changes shows. Objects are shown as "+ created",
"~ configured" with a unified diff, or "- pruned" (objects of the operator's inventory the file no
longer renders); values of Secrets are masked. The render flags are render's, with the same defaults
from DOCKER_REGISTRY, PROJECT, DOCKER_PULL_SECRETS, INGRESS_CLASS and OIDC_GROUPS_PREFIX, and so are
the policy flags (--allowed-secrets, --allowed-hosts, --vault-path-prefix, --max-cpu-limit,
--max-memory-limit, --max-hpa-replicas): a file the operator's policy refuses is invalid.

With --endpoint URL (or ENVOP_ENDPOINT, when no --kubeconfig or --context is given) and a token
(--token, --token-file or ENVOP_TOKEN), diff needs no cluster credentials: the operator answers
(POST /diff) with its own render settings, policy, state and a dry run, so the render, policy,
--prune-claims and --ignore-state flags do not apply. The file's gists are sent with it.

An environment that names a gists repository (gists_repository) needs a local checkout of it,
--gists-dir DIR: its gists are read from there.

Exit status: 0 no changes, 1 changes, 2 error (bad usage, invalid file, cluster unreachable, the
request refused), 3 the operator unreachable or failing.`,
		Args: manifestArg(&fl.file),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := fl.fromEnv(cmd.Flags(), streams.getenv); err != nil {
				return err
			}
			if fl.remoteForm(cmd.Flags()) {
				return runRemoteDiff(cmd.Context(), streams, cmd.Flags(), fl)
			}
			return runDiff(cmd.Context(), streams, fl)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&fl.file, "file", "f", "", "manifest file (environments.bitesize)")
	f.StringVar(&fl.env, "env", "", "environment of the file to compare (required)")
	f.StringVar(&fl.kubeconfig, "kubeconfig", "", "kubeconfig file (default $KUBECONFIG or ~/.kube/config)")
	f.StringVar(&fl.context, "context", "", "kubeconfig context (default: the current one)")
	f.StringVar(&fl.namespace, "namespace", "", "namespace when the environment names none")
	f.StringVar(&fl.gistsDir, "gists-dir", "", gistsDirUsage)
	f.BoolVar(&fl.pruneClaims, "prune-claims", false, "the operator prunes PersistentVolumeClaims (serve --prune-claims)")
	f.BoolVar(&fl.noState, "ignore-state", false, "ignore versions deployed through the API: compare the file's versions")
	fl.bindSettings(f)
	fl.policy.bind(f)
	r := &fl.remote
	f.StringVar(&r.endpoint, "endpoint", "", "operator API URL: ask the operator instead of the cluster [ENVOP_ENDPOINT]")
	f.StringVar(&r.token, "token", "", "API bearer token, with --endpoint (prefer ENVOP_TOKEN or --token-file) [ENVOP_TOKEN]")
	f.StringVar(&r.tokenFile, "token-file", "", "file holding the API token, with --endpoint")
	f.StringVar(&r.caFile, "ca-file", "", "PEM CA bundle trusted for --endpoint, in addition to the system roots")
	f.BoolVar(&r.insecure, "insecure-skip-verify", false, "do not verify --endpoint's TLS certificate (unsafe)")
	f.DurationVar(&r.requestTimeout, "request-timeout", 2*client.DefaultTimeout, "time limit of the request to --endpoint")
	return cmd
}

// remoteForm says whether diff asks an operator: --endpoint, or
// ENVOP_ENDPOINT unless a kubeconfig or context is named.
func (fl *diffFlags) remoteForm(fs *pflag.FlagSet) bool {
	if fl.remote.endpoint != "" {
		return true
	}
	return os.Getenv(envEndpoint) != "" && !fs.Changed("kubeconfig") && !fs.Changed("context")
}

// diffError is an error of diff: exit 2, whatever caused it.
func diffError(format string, args ...any) error {
	return exitf(ExitUsage, format, args...)
}

func runDiff(ctx context.Context, streams Streams, fl *diffFlags) error {
	if fl.env == "" {
		return diffError("--env NAME is required")
	}
	opts, err := fl.options()
	if err != nil {
		return &ExitError{Code: ExitUsage, Err: err}
	}
	policy, err := fl.policy.policy(fl.from)
	if err != nil {
		return &ExitError{Code: ExitUsage, Err: err}
	}
	if err := checkDefaults(opts, policy, fl.from); err != nil {
		return &ExitError{Code: ExitUsage, Err: err}
	}
	f, env, err := loadDiffManifest(streams, fl.file, fl.env, fl.gistsDir, policy)
	if err != nil {
		return err
	}
	if err := fl.checkOverrides(env); err != nil {
		return &ExitError{Code: ExitUsage, Err: err}
	}
	ns := env.Namespace
	if ns == "" {
		ns = fl.namespace
	}
	if ns == "" {
		return diffError("environment %q names no namespace: set --namespace", fl.env)
	}
	if err := checkServiceNamespaces(streams, fl.file, f, env, ns); err != nil {
		return diffError("%s is invalid: nothing to compare", cmp.Or(fl.file, manifest.DefaultFile))
	}
	cfg, err := operator.RestConfig(defaultKubeconfig(fl.kubeconfig), fl.context)
	if err != nil {
		return diffError("%v", err)
	}
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return diffError("client: %v", err)
	}
	store := state.NewStore(kube, ns, env.Name)
	if !fl.noState {
		if err := overrideFromState(ctx, streams.Err, store, takeover.Namespace{Client: kube, Name: ns}, env, &opts); err != nil {
			return diffError("%v", err)
		}
	}
	if opts.Files, err = readGists(fl.file, fl.gistsDir, env); err != nil {
		return diffError("%v", err)
	}
	res, err := render.Render(env, f.Project, opts)
	if err != nil {
		return diffError("render: %v", err)
	}
	a, err := apply.New(cfg, apply.Options{Namespace: ns, Environment: env.Name, PruneClaims: fl.pruneClaims,
		Inventory: state.NewInventory(kube, ns, env.Name)})
	if err != nil {
		return diffError("%v", err)
	}
	a.RememberKinds(store.Kinds()...)
	d, err := a.Diff(ctx, res.Objects, vault.Placeholders(res.Objects), apply.Adoption(env))
	if err != nil {
		return diffError("%v", err)
	}
	return printDiff(streams, operator.DiffAnswer(d))
}

// defaultKubeconfig is the kubeconfig kubectl would read: the flag, else
// $KUBECONFIG, else ~/.kube/config when it exists; with none, the
// in-cluster config is used (a CI job's service account).
func defaultKubeconfig(flag string) string {
	if flag != "" {
		return flag
	}
	if env := os.Getenv(clientcmd.RecommendedConfigPathEnvVar); env != "" {
		return env
	}
	if _, err := os.Stat(clientcmd.RecommendedHomeFile); err == nil {
		return clientcmd.RecommendedHomeFile
	}
	return ""
}

// loadDiffManifest loads the file and its environment, printing the
// diagnostics; an invalid file is an error.
func loadDiffManifest(streams Streams, file, envName, gistsDir string, policy manifest.Policy) (*manifest.File, *manifest.Environment, error) {
	if err := checkGistsDir(gistsDir); err != nil {
		return nil, nil, err
	}
	f, diags, err := loadManifest(file, envName, gistsDir, policy)
	if err != nil {
		return nil, nil, &ExitError{Code: ExitUsage, Err: err}
	}
	fmt.Fprint(streams.Err, diags.String())
	if diags.HasErrors() {
		return nil, nil, diffError("%s is invalid: nothing to compare", file)
	}
	return f, f.Environment(envName), nil
}

// overrideFromState sets the versions, active colours and kept selectors
// a sync of this file would resolve against the operator's state, by the
// operator's plan (package plan), with what the original Environment
// Operator left in the namespace taken over as the sync would. Overrides
// given as flags win over both.
func overrideFromState(ctx context.Context, warn io.Writer, store *state.Store, originals takeover.Namespace, env *manifest.Environment, opts *render.Options) error {
	if err := store.Load(ctx); err != nil {
		if apierrors.IsForbidden(err) {
			fmt.Fprintf(warn, "warning: cannot read the operator's state (%v): comparing the file's versions\n", err)
			return nil
		}
		return fmt.Errorf("read the operator's state: %w", err)
	}
	found, err := originals.Find(ctx)
	switch {
	case apierrors.IsForbidden(err):
		fmt.Fprintf(warn, "warning: cannot look for the original operator's objects (%v): comparing as if there were none\n", err)
		found = &takeover.Found{}
	case err != nil:
		return err
	}
	var p *plan.Plan
	store.Read(func(states map[string]*state.Service) {
		p = plan.Make(plan.Input{Env: env, States: takenOver(found, env, states), Git: true, At: time.Now().UTC()})
	})
	for k, v := range opts.Versions {
		p.Versions[k] = v
	}
	for k, v := range opts.Active {
		p.Active[k] = v
	}
	p.Render(opts)
	return nil
}

// runRemoteDiff sends the file and its gists to the operator's POST /diff.
func runRemoteDiff(ctx context.Context, streams Streams, fs *pflag.FlagSet, fl *diffFlags) error {
	var local []string
	fs.Visit(func(f *pflag.Flag) {
		if !remoteDiffFlags[f.Name] {
			local = append(local, "--"+f.Name)
		}
	})
	if len(local) > 0 {
		return diffError("%v: not with --endpoint, where the operator's settings apply", local)
	}
	if fl.env == "" {
		return diffError("--env NAME is required")
	}
	if fl.remote.requestTimeout <= 0 {
		return diffError("--request-timeout must be positive")
	}
	ts, err := fl.remote.directTarget()
	if err != nil {
		return &ExitError{Code: ExitUsage, Err: err}
	}
	// The operator checks the file against its policy: only the file's
	// own errors are caught here, before sending it.
	_, env, err := loadDiffManifest(streams, fl.file, fl.env, fl.gistsDir, manifest.Policy{})
	if err != nil {
		return err
	}
	req, err := diffRequest(fl.file, fl.gistsDir, env)
	if err != nil {
		return diffError("%v", err)
	}
	t := ts[0]
	status, err := t.Client.Status(ctx)
	if err != nil {
		return apiFailure(t, err)
	}
	if status.Environment != fl.env {
		return diffError("%s runs environment %q, not %q", t.Name, status.Environment, fl.env)
	}
	ans, err := t.Client.Diff(ctx, req)
	if err != nil {
		return apiFailure(t, err)
	}
	return printDiff(streams, ans)
}

// diffRequest is the body of POST /diff: the file, and the gist files
// environment env names, by path from the file's folder (or from gistsDir,
// the gists repository's checkout, when env names one).
func diffRequest(file, gistsDir string, env *manifest.Environment) (api.DiffRequest, error) {
	if file == "" {
		file = manifest.DefaultFile
	}
	data, err := readBounded(file, manifest.MaxFileSize)
	if err != nil {
		return api.DiffRequest{}, err
	}
	gists, err := readGists(file, gistsDir, env)
	if err != nil {
		return api.DiffRequest{}, err
	}
	req := api.DiffRequest{File: string(data), Gists: map[string]string{}}
	for p, content := range gists {
		if !utf8.Valid(content) {
			return api.DiffRequest{}, fmt.Errorf("gist file %s is not text: the API carries text only", p)
		}
		req.Gists[p] = string(content)
	}
	return req, nil
}

// printDiff prints the changes, notes and failures of a diff, and returns
// the exit status: 1 when something changes, 2 when an object could not
// be compared.
func printDiff(streams Streams, ans api.DiffAnswer) error {
	count := map[string]int{}
	for _, c := range ans.Changes {
		count[c.Action]++
		title := c.Kind + " " + c.Name
		switch c.Action {
		case api.DiffCreate:
			fmt.Fprintf(streams.Out, "+ created %s\n%s", title, c.Diff)
		case api.DiffUpdate:
			fmt.Fprintf(streams.Out, "~ configured %s\n%s", title, c.Diff)
		case api.DiffDelete:
			fmt.Fprintf(streams.Out, "- pruned %s\n", title)
		}
	}
	for _, n := range ans.Notes {
		fmt.Fprintf(streams.Err, "note: %s\n", n)
	}
	for _, f := range ans.Failed {
		fmt.Fprintf(streams.Err, "error: %s %s: %s\n", f.Kind, f.Name, f.Error)
	}
	fmt.Fprintf(streams.Out, "%d to create, %d to change, %d to prune, %d unchanged\n",
		count[api.DiffCreate], count[api.DiffUpdate], count[api.DiffDelete], count[api.DiffUnchanged])
	switch {
	case len(ans.Failed) > 0:
		return diffError("%d objects could not be compared", len(ans.Failed))
	case count[api.DiffCreate]+count[api.DiffUpdate]+count[api.DiffDelete] > 0:
		return &ExitError{Code: ExitFailed}
	}
	return nil
}
