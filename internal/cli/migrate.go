package cli

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/kubernetes"

	"github.com/envop/envop/internal/manifest"
	"github.com/envop/envop/internal/operator"
	"github.com/envop/envop/internal/plan"
	"github.com/envop/envop/internal/render"
	"github.com/envop/envop/internal/state"
	"github.com/envop/envop/internal/takeover"
)

type migrateFlags struct {
	renderFlags
	kubeconfig, context string
	pruneAdopted        bool
}

func newMigrateCmd(streams Streams) *cobra.Command {
	fl := &migrateFlags{}
	cmd := &cobra.Command{
		Use:   "migrate --namespace NS [-f FILE] [--env NAME]",
		Short: "Show what envop will do with what the original Environment Operator made in a namespace",
		Long: `Migrate lists the objects the original Environment Operator made in NS (labelled creator:
pipeline) and says, for each, what an operator serving FILE's environment there will do and why:
adopt it (apply it as the file renders it), keep it (taken over with its selector, its serving colour
or, for a claim, as it is), rename (what envop names differently, such as an Ingress's certificate
Secret), or leave it (the file renders nothing of its name; serve --prune-adopted deletes it). It
changes nothing. The environment is --env, or the one of FILE bound to NS. The render and policy
flags are render's, with the same variables; see docs/migrating.md.`,
		Args: manifestArg(&fl.file),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := fl.fromEnv(cmd.Flags(), streams.getenv); err != nil {
				return err
			}
			return runMigrate(cmd.Context(), streams, fl)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&fl.file, "file", "f", "", "manifest file (environments.bitesize)")
	f.StringVar(&fl.env, "env", "", "environment of the file (default: the one bound to --namespace)")
	f.StringVarP(&fl.namespace, "namespace", "n", "", "namespace the original operator ran in (required)")
	f.StringVar(&fl.gistsDir, "gists-dir", "", gistsDirUsage)
	f.StringVar(&fl.kubeconfig, "kubeconfig", "", "kubeconfig file (default $KUBECONFIG or ~/.kube/config)")
	f.StringVar(&fl.context, "context", "", "kubeconfig context (default: the current one)")
	f.BoolVar(&fl.pruneAdopted, "prune-adopted", false, "the operator runs with --prune-adopted")
	f.StringVarP(&fl.output, "output", "o", "", "output format: json or yaml (default: a table)")
	fl.bindSettings(f)
	fl.policy.bind(f)
	return cmd
}

func runMigrate(ctx context.Context, streams Streams, fl *migrateFlags) error {
	if fl.namespace == "" {
		return exitf(ExitUsage, "--namespace NS is required")
	}
	if err := checkOutput(fl.output); err != nil {
		return err
	}
	if err := checkGistsDir(fl.gistsDir); err != nil {
		return err
	}
	opts, err := fl.options()
	if err != nil {
		return &ExitError{Code: ExitUsage, Err: err}
	}
	policy, err := fl.policy.policy(fl.from)
	if err != nil {
		return &ExitError{Code: ExitUsage, Err: err}
	}
	f, diags, err := loadManifest(fl.file, "", fl.gistsDir, policy)
	if err != nil {
		return err
	}
	fmt.Fprint(streams.Err, diags.String())
	if diags.HasErrors() {
		return exitf(ExitFailed, "%s is invalid: nothing to compare", fl.file)
	}
	env, err := migrateEnvironment(f, fl.env, fl.namespace)
	if err != nil {
		return &ExitError{Code: ExitUsage, Err: err}
	}
	if opts.Files, err = readGists(fl.file, fl.gistsDir, env); err != nil {
		return exitf(ExitFailed, "%v", err)
	}
	cfg, err := operator.RestConfig(defaultKubeconfig(fl.kubeconfig), fl.context)
	if err != nil {
		return exitf(ExitUsage, "%v", err)
	}
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return exitf(ExitUsage, "client: %v", err)
	}
	found, err := takeover.Namespace{Client: kube, Name: fl.namespace}.Find(ctx)
	switch {
	case apierrors.IsForbidden(err):
		return exitf(ExitUsage, "%v (migrate needs list on Deployments, StatefulSets, Services, Ingresses, HorizontalPodAutoscalers, ConfigMaps and PersistentVolumeClaims)", err)
	case err != nil:
		return exitf(ExitUnreachable, "%v", err)
	}
	store := state.NewStore(kube, fl.namespace, env.Name)
	if err := store.Load(ctx); err != nil && !apierrors.IsForbidden(err) {
		return exitf(ExitUnreachable, "read the operator's state: %v", err)
	}
	var p *plan.Plan
	store.Read(func(states map[string]*state.Service) {
		p = plan.Make(plan.Input{Env: env, States: takenOver(found, env, states), Git: true, At: time.Now().UTC()})
	})
	p.Render(&opts)
	opts.Namespace = fl.namespace
	res, err := render.Render(env, f.Project, opts)
	if err != nil {
		return exitf(ExitFailed, "render: %v", err)
	}
	steps := takeover.Report(found, res.Objects, fl.pruneAdopted)
	if fl.output != "" {
		if steps == nil {
			steps = []takeover.Step{}
		}
		return writeMachine(streams.Out, fl.output, map[string]any{"namespace": fl.namespace, "environment": env.Name, "steps": steps})
	}
	if len(steps) == 0 {
		fmt.Fprintf(streams.Out, "namespace %s holds nothing the original Environment Operator made (no creator=pipeline objects)\n", fl.namespace)
		return nil
	}
	w := tabwriter.NewWriter(streams.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ACTION\tKIND\tNAME\tWHY")
	for _, s := range steps {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", s.Action, s.Kind, s.Name, s.Why)
	}
	return w.Flush()
}

// migrateEnvironment is the environment named, else the one bound to ns.
func migrateEnvironment(f *manifest.File, name, ns string) (*manifest.Environment, error) {
	if name != "" {
		env := f.Environment(name)
		if env == nil {
			return nil, fmt.Errorf("the file lists no environment %q", name)
		}
		return env, nil
	}
	var found *manifest.Environment
	for i := range f.Environments {
		if f.Environments[i].Namespace == ns {
			if found != nil {
				return nil, fmt.Errorf("environments %q and %q are both bound to namespace %s: give --env", found.Name, f.Environments[i].Name, ns)
			}
			found = &f.Environments[i]
		}
	}
	if found == nil {
		return nil, fmt.Errorf("no environment of the file is bound to namespace %s: give --env", ns)
	}
	return found, nil
}

// takenOver is states as the operator's first sync leaves them once it
// has taken found over (plan.TakeOver), on copies.
func takenOver(found *takeover.Found, env *manifest.Environment, states map[string]*state.Service) map[string]*state.Service {
	out := make(map[string]*state.Service, len(states))
	for name, s := range states {
		out[name] = s
	}
	for i := range env.Services {
		s := &env.Services[i]
		taken := found.Taken(s, env)
		if len(taken) == 0 {
			continue
		}
		svc := &state.Service{Name: s.Name}
		if cur, ok := out[s.Name]; ok {
			svc = cur.Clone()
		}
		plan.TakeOver(s, env, svc, taken, found.Active[s.Name], time.Now().UTC())
		out[s.Name] = svc
	}
	return out
}
