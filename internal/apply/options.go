package apply

import (
	"errors"
	"log/slog"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/envop/envop/internal/render"
)

// Defaults of Options.
const (
	DefaultFieldManager = "envop"
	DefaultQPS          = 300
	DefaultBurst        = 600
	DefaultWorkers      = 8
)

// AnnotationAppliedHash holds the hash of the desired object last applied.
// It lets an operator that restarted recognise objects it already applied
// without writing them again.
const AnnotationAppliedHash = "envop.io/applied-hash"

// Options configure an Applier for one environment in one namespace.
type Options struct {
	// FieldManager owns every field envop applies; default "envop".
	FieldManager string
	// Namespace is the only namespace objects may be applied to or pruned from.
	Namespace string
	// Environment is the value of the environment label; pruning selects on
	// managed-by=envop and this.
	Environment string
	// PruneClaims lets pruning delete PersistentVolumeClaims; by default
	// they are reported as skipped and kept.
	PruneClaims bool
	// AllowEmpty lets pruning delete every managed object when the desired
	// set is empty.
	AllowEmpty bool
	// QPS and Burst are the client's rate limits (default 300 and 600):
	// client-go's own default of 5 per second would throttle a large
	// environment.
	QPS   float32
	Burst int
	// Workers bounds the concurrent requests within a stage (default 8).
	Workers int
	// Logger receives constant messages with key/values; nil discards.
	Logger *slog.Logger
	// Inventory keeps the references of the objects envop applied between
	// restarts; nil keeps them in memory only (tests, one-shot tools).
	Inventory InventoryStore
}

func (o Options) withDefaults() (Options, error) {
	if o.Namespace == "" {
		return o, errors.New("apply: no namespace")
	}
	if o.Environment == "" {
		return o, errors.New("apply: no environment")
	}
	if o.FieldManager == "" {
		o.FieldManager = DefaultFieldManager
	}
	if o.QPS <= 0 {
		o.QPS = DefaultQPS
	}
	if o.Burst <= 0 {
		o.Burst = DefaultBurst
	}
	if o.Workers <= 0 {
		o.Workers = DefaultWorkers
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o, nil
}

// applyVerbs are what server-side apply and pruning need: list to read the
// live objects (one list per kind; no get), watch to see drift as it
// happens (WatchDrift), patch to apply, create because an apply that
// creates an object is also authorised as a create, delete to prune. The
// rest of the operator (informers for status) adds get.
var applyVerbs = []string{"list", "watch", "patch", "create", "delete"}

// RequiredRules are the namespaced Role rules the Applier needs for every
// kind the renderer produces; TestNamespacedServiceAccount proves they
// suffice. Discovery needs no rule: every authenticated user may read it.
// Two additions depend on the manifest: custom resource kinds of legacy
// `type` services need the same verbs on their resource, and applying the
// Roles of `access` needs every permission those Roles grant,
// render.AccessRules (`envop install --access`; docs/install.md).
var RequiredRules = []rbacv1.PolicyRule{
	{APIGroups: []string{""}, Resources: []string{"configmaps", "secrets", "persistentvolumeclaims", "serviceaccounts", "services"}, Verbs: applyVerbs},
	{APIGroups: []string{"apps"}, Resources: []string{"deployments", "statefulsets"}, Verbs: applyVerbs},
	{APIGroups: []string{"batch"}, Resources: []string{"jobs", "cronjobs"}, Verbs: applyVerbs},
	{APIGroups: []string{"networking.k8s.io"}, Resources: []string{"ingresses"}, Verbs: applyVerbs},
	{APIGroups: []string{"autoscaling"}, Resources: []string{"horizontalpodautoscalers"}, Verbs: applyVerbs},
	{APIGroups: []string{"rbac.authorization.k8s.io"}, Resources: []string{"roles", "rolebindings"}, Verbs: applyVerbs},
}

// IstioRules are the rules the Applier needs on the Istio kinds that
// service_mesh (Gateway, VirtualService) and type: ServiceEntry render, and
// HelmChartRules on the HelmChart of type: HelmChart: the same verbs as on
// the kinds it always renders, watch included, since it watches them for
// drift (`envop install --istio`, `--helm-charts`; docs/install.md).
var (
	IstioRules = []rbacv1.PolicyRule{{APIGroups: []string{render.GatewayKind.Group},
		Resources: []string{"gateways", "serviceentries", "virtualservices"}, Verbs: applyVerbs}}
	HelmChartRules = []rbacv1.PolicyRule{{APIGroups: []string{render.HelmChartKind.Group},
		Resources: []string{"helmcharts"}, Verbs: applyVerbs}}
)
