package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"

	"github.com/envop/envop/internal/apply"
	"github.com/envop/envop/internal/manifest"
	"github.com/envop/envop/internal/plan"
	"github.com/envop/envop/internal/render"
	"github.com/envop/envop/internal/state"
)

// diffPruneKinds are the namespaced kinds the renderer produces, which the
// operator's pruning lists, with their API groups.
var diffPruneKinds = []schema.GroupKind{
	{Kind: "ConfigMap"}, {Kind: "Secret"}, {Kind: "PersistentVolumeClaim"}, {Kind: "ServiceAccount"},
	{Group: "rbac.authorization.k8s.io", Kind: "Role"}, {Group: "rbac.authorization.k8s.io", Kind: "RoleBinding"},
	{Group: "apps", Kind: "Deployment"}, {Group: "apps", Kind: "StatefulSet"},
	{Group: "batch", Kind: "Job"}, {Group: "batch", Kind: "CronJob"},
	{Kind: "Service"}, {Group: "networking.k8s.io", Kind: "Ingress"},
	{Group: "autoscaling", Kind: "HorizontalPodAutoscaler"},
}

type diffFlags struct {
	renderFlags
	kubeconfig, context string
	pruneClaims         bool
	noState             bool
}

func newDiffCmd(streams Streams) *cobra.Command {
	fl := &diffFlags{}
	cmd := &cobra.Command{
		Use:   "diff [-f] FILE --env NAME [--kubeconfig K]",
		Short: "Show what a sync of FILE would change in the cluster (server-side dry run)",
		Long: `Diff renders one environment of FILE as the operator would, server-side-applies each object as a
dry run with the operator's field manager, and compares the result with the live object. Versions
deployed through the API and promotions are read from the operator's state in the namespace, so
only what the file changes shows. Objects are shown as "+ created", "~ configured" with a unified
diff, or "- pruned" (managed objects of the environment the file no longer renders). The render
flags are render's, with the same defaults from DOCKER_REGISTRY, PROJECT, DOCKER_PULL_SECRETS,
INGRESS_CLASS and OIDC_GROUPS_PREFIX, and so are the policy flags (--allowed-secrets,
--allowed-hosts, --vault-path-prefix): a file the operator's policy refuses is invalid.

Exit status: 0 no changes, 1 changes, 2 error (bad usage, invalid file, cluster unreachable).`,
		Args: manifestArg(&fl.file),
		RunE: func(cmd *cobra.Command, _ []string) error {
			fl.fromEnv(cmd.Flags())
			return runDiff(cmd.Context(), streams, fl)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&fl.file, "file", "f", "", "manifest file (environments.bitesize)")
	f.StringVar(&fl.env, "env", "", "environment of the file to compare (required)")
	f.StringVar(&fl.kubeconfig, "kubeconfig", "", "kubeconfig file (default $KUBECONFIG or ~/.kube/config)")
	f.StringVar(&fl.context, "context", "", "kubeconfig context (default: the current one)")
	f.StringVar(&fl.namespace, "namespace", "", "namespace when the environment names none")
	f.BoolVar(&fl.pruneClaims, "prune-claims", false, "the operator prunes PersistentVolumeClaims (serve --prune-claims)")
	f.BoolVar(&fl.noState, "ignore-state", false, "ignore versions deployed through the API: compare the file's versions")
	fl.bindSettings(f)
	fl.policy.bind(f)
	return cmd
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
	policy, err := fl.policy.policy()
	if err != nil {
		return &ExitError{Code: ExitUsage, Err: err}
	}
	f, diags, err := loadManifest(fl.file, fl.env, policy)
	if err != nil {
		return &ExitError{Code: ExitUsage, Err: err}
	}
	fmt.Fprint(streams.Err, diags.String())
	if diags.HasErrors() {
		return diffError("%s is invalid: nothing to compare", fl.file)
	}
	env := f.Environment(fl.env)
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
	cl, err := newDiffCluster(fl.kubeconfig, fl.context)
	if err != nil {
		return diffError("%v", err)
	}
	if !fl.noState {
		if err := cl.overrideFromState(ctx, streams.Err, env, ns, &opts); err != nil {
			return diffError("%v", err)
		}
	}
	if opts.Files, err = manifest.ReadGistFiles(os.DirFS(filepath.Dir(fl.file)), env); err != nil {
		return diffError("%v", err)
	}
	res, err := render.Render(env, f.Project, opts)
	if err != nil {
		return diffError("render: %v", err)
	}
	d := &differ{cluster: cl, out: streams.Out, errOut: streams.Err, namespace: ns, environment: fl.env, pruneClaims: fl.pruneClaims}
	return d.run(ctx, res.Objects)
}

// diffCluster is what diff needs of the cluster.
type diffCluster struct {
	dyn    dynamic.Interface
	kube   kubernetes.Interface
	mapper meta.RESTMapper
}

func newDiffCluster(kubeconfig, kubeContext string) (*diffCluster, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = kubeconfig
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules,
		&clientcmd.ConfigOverrides{CurrentContext: kubeContext}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	cfg = rest.CopyConfig(cfg)
	cfg.UserAgent = "envop-diff"
	cfg.QPS, cfg.Burst = 50, 100
	if cfg.Timeout == 0 {
		cfg.Timeout = time.Minute
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("dynamic client: %w", err)
	}
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("discovery client: %w", err)
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))
	return &diffCluster{dyn: dyn, kube: kube, mapper: mapper}, nil
}

// overrideFromState sets the versions and active colours the operator's
// state holds, as a sync of this file would resolve them: the latest
// intent wins, so a version the file changes since the last sync wins over
// one deployed through the API, and an unchanged one does not. Overrides
// given as flags win over both.
func (c *diffCluster) overrideFromState(ctx context.Context, warn io.Writer, env *manifest.Environment, ns string, opts *render.Options) error {
	store := state.NewStore(c.kube, ns, env.Name)
	if err := store.Load(ctx); err != nil {
		if apierrors.IsForbidden(err) {
			fmt.Fprintf(warn, "warning: cannot read the operator's state (%v): comparing the file's versions\n", err)
			return nil
		}
		return fmt.Errorf("read the operator's state: %w", err)
	}
	var p *plan.Plan
	store.Read(func(states map[string]*state.Service) {
		p = plan.Make(plan.Input{Env: env, States: states, Git: true, At: time.Now().UTC()})
	})
	versions, active := p.Versions, p.Active
	for k, v := range opts.Versions {
		versions[k] = v
	}
	for k, v := range opts.Active {
		active[k] = v
	}
	opts.Versions, opts.Active = versions, active
	return nil
}

// differ compares rendered objects with the cluster and prints changes.
type differ struct {
	cluster     *diffCluster
	out, errOut io.Writer
	namespace   string
	environment string
	pruneClaims bool

	created, configured, unchanged, pruned, failed int
}

func (d *differ) run(ctx context.Context, objs []*unstructured.Unstructured) error {
	keep := map[string]bool{}
	for _, obj := range objs {
		keep[diffKey(obj)] = true
		if err := d.one(ctx, obj); err != nil {
			d.failed++
			fmt.Fprintf(d.errOut, "error: %s %s: %v\n", obj.GetKind(), obj.GetName(), err)
		}
	}
	if err := d.prunes(ctx, keep, len(objs) == 0); err != nil {
		d.failed++
		fmt.Fprintf(d.errOut, "error: %v\n", err)
	}
	fmt.Fprintf(d.out, "%d to create, %d to change, %d to prune, %d unchanged\n", d.created, d.configured, d.pruned, d.unchanged)
	switch {
	case d.failed > 0:
		return diffError("%d objects could not be compared", d.failed)
	case d.created+d.configured+d.pruned > 0:
		return &ExitError{Code: ExitFailed}
	}
	return nil
}

func diffKey(obj *unstructured.Unstructured) string {
	return obj.GroupVersionKind().GroupKind().String() + "/" + obj.GetName()
}

// resource returns the client of obj's kind in the namespace (or the
// cluster for cluster-scoped kinds).
func (d *differ) resource(gvk schema.GroupVersionKind) (dynamic.ResourceInterface, error) {
	m, err := d.cluster.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return nil, fmt.Errorf("map kind %s: %w", gvk, err)
	}
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		return d.cluster.dyn.Resource(m.Resource).Namespace(d.namespace), nil
	}
	return d.cluster.dyn.Resource(m.Resource), nil
}

// one dry-runs the apply of obj and prints how it would change.
func (d *differ) one(ctx context.Context, obj *unstructured.Unstructured) error {
	ri, err := d.resource(obj.GroupVersionKind())
	if err != nil {
		return err
	}
	live, dry, err := d.dryRun(ctx, ri, obj)
	if err != nil {
		return err
	}
	after, err := comparable(dry)
	if err != nil {
		return err
	}
	title := obj.GetKind() + " " + obj.GetName()
	if live == nil {
		d.created++
		fmt.Fprintf(d.out, "+ created %s\n", title)
		for _, l := range splitLines(after) {
			fmt.Fprintf(d.out, "+%s\n", l)
		}
		return nil
	}
	before, err := comparable(live)
	if err != nil {
		return err
	}
	if before == after {
		d.unchanged++
		return nil
	}
	d.configured++
	fmt.Fprintf(d.out, "~ configured %s\n--- live %s\n+++ applied %s\n", title, title, title)
	writeUnified(d.out, diffLines(splitLines(before), splitLines(after)))
	return nil
}

// dryRunAttempts bounds how often dryRun starts again because a controller
// changed the object between the read and the dry run.
const dryRunAttempts = 3

// dryRun reads the live object (nil when there is none) and dry-runs the
// apply of obj. Controllers write to live objects all the time (the
// deployment controller's revision annotation, for one); when the object
// changed between the read and the dry run, the dry run started from a
// newer object than the one read, so both are taken again.
func (d *differ) dryRun(ctx context.Context, ri dynamic.ResourceInterface, obj *unstructured.Unstructured) (live, dry *unstructured.Unstructured, err error) {
	for attempt := 1; ; attempt++ {
		live, err = d.get(ctx, ri, obj.GetName())
		if err != nil {
			return nil, nil, err
		}
		dry, err = ri.Apply(ctx, obj.GetName(), obj, metav1.ApplyOptions{
			FieldManager: apply.DefaultFieldManager, Force: true, DryRun: []string{metav1.DryRunAll},
		})
		if err != nil {
			return nil, nil, fmt.Errorf("dry-run apply: %w", err)
		}
		if live == nil || attempt == dryRunAttempts {
			return live, dry, nil
		}
		again, err := d.get(ctx, ri, obj.GetName())
		if err != nil {
			return nil, nil, err
		}
		if again != nil && again.GetResourceVersion() == live.GetResourceVersion() {
			return live, dry, nil
		}
	}
}

// get reads the live object named name, nil when there is none.
func (d *differ) get(ctx context.Context, ri dynamic.ResourceInterface, name string) (*unstructured.Unstructured, error) {
	live, err := ri.Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read live object: %w", err)
	}
	return live, nil
}

// comparable is obj as YAML without what the server or the applier
// changes on every write.
func comparable(obj *unstructured.Unstructured) (string, error) {
	c := obj.DeepCopy()
	for _, f := range []string{"managedFields", "resourceVersion", "generation", "creationTimestamp", "uid", "selfLink"} {
		unstructured.RemoveNestedField(c.Object, "metadata", f)
	}
	unstructured.RemoveNestedField(c.Object, "status")
	if a := c.GetAnnotations(); a != nil {
		delete(a, apply.AnnotationAppliedHash)
		if len(a) == 0 {
			unstructured.RemoveNestedField(c.Object, "metadata", "annotations")
		} else {
			c.SetAnnotations(a)
		}
	}
	data, err := yaml.Marshal(c.Object)
	if err != nil {
		return "", fmt.Errorf("encode %s %s: %w", obj.GetKind(), obj.GetName(), err)
	}
	return string(data), nil
}

// prunes prints the managed objects of the environment that the file no
// longer renders.
func (d *differ) prunes(ctx context.Context, keep map[string]bool, empty bool) error {
	selector := labels.SelectorFromSet(labels.Set{
		render.LabelManagedBy: render.ManagedBy, render.LabelEnvironment: d.environment,
	}).String()
	var orphans []string
	for _, gk := range diffPruneKinds {
		m, err := d.cluster.mapper.RESTMapping(gk)
		if meta.IsNoMatchError(err) {
			continue // not served: nothing of it to prune
		}
		if err != nil {
			return fmt.Errorf("map kind %s: %w", gk, err)
		}
		list, err := d.cluster.dyn.Resource(m.Resource).Namespace(d.namespace).List(ctx, metav1.ListOptions{LabelSelector: selector})
		if err != nil {
			return fmt.Errorf("list %s: %w", gk, err)
		}
		for i := range list.Items {
			obj := &list.Items[i]
			obj.SetGroupVersionKind(gk.WithVersion(m.GroupVersionKind.Version))
			if keep[diffKey(obj)] {
				continue
			}
			if gk.Kind == "PersistentVolumeClaim" && !d.pruneClaims {
				fmt.Fprintf(d.errOut, "note: PersistentVolumeClaim %s is no longer rendered; claims are kept unless the operator runs with --prune-claims\n", obj.GetName())
				continue
			}
			orphans = append(orphans, gk.Kind+" "+obj.GetName())
		}
	}
	if empty && len(orphans) > 0 {
		fmt.Fprintf(d.errOut, "note: the file renders nothing; the operator refuses to prune all %d managed objects unless it runs with --allow-empty\n", len(orphans))
		return nil
	}
	for _, o := range orphans {
		d.pruned++
		fmt.Fprintf(d.out, "- pruned %s\n", o)
	}
	return nil
}
