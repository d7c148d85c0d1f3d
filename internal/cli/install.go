package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/envop/envop/internal/install"
	"github.com/envop/envop/internal/operator"
)

func newInstallCmd(streams Streams) *cobra.Command {
	var (
		o      install.Options
		output string
	)
	cmd := &cobra.Command{
		Use:   "install --namespace NS",
		Short: "Print the least-privilege manifests that run the operator in a namespace",
		Long: `Install prints a ServiceAccount, a Role with exactly the namespaced rights the operator uses,
their RoleBinding, a hardened Deployment and its Service, ready for kubectl apply -f -.
The Service exposes the API only; /metrics is served on the pod's port named metrics
(--metrics-port) for Prometheus to scrape the pod.
The Secrets they read (API tokens, git credentials) are named in the header; create them yourself.
An environment with access entries also needs --access: Kubernetes lets the operator create
the Roles those entries grant only if it holds every right they grant, which --access adds
to its Role (up to pods/exec; never escalate or bind). An environment whose services use
service_mesh or type: ServiceEntry needs --istio, one with type: HelmChart --helm-charts: they add
the rights on those kinds.`,
		Example: `  envop install --namespace shop-dev --environment dev \
    --git-repo https://git.example.com/shop/environments.git | kubectl apply -f -`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.Rules = operator.RequiredRules()
			o.IstioRules, o.HelmChartRules = operator.IstioRules(), operator.HelmChartRules()
			data, err := install.Render(o, output)
			if err != nil {
				return &ExitError{Code: ExitUsage, Err: err}
			}
			if output == install.FormatJSON {
				// JSON has no comments: the header goes where people read it.
				fmt.Fprint(streams.Err, install.Header(o))
			}
			if _, err := streams.Out.Write(data); err != nil {
				return exitf(ExitFailed, "write manifests: %v", err)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.Namespace, "namespace", "n", "", "namespace to run the operator in (required)")
	f.StringVar(&o.Environment, "environment", "", "environment in the file (ENVIRONMENT_NAME)")
	f.StringVar(&o.GitRepo, "git-repo", "", "repository holding environments.bitesize (GIT_REMOTE_REPOSITORY)")
	f.StringVar(&o.GitBranch, "git-branch", "", "branch to follow, default the remote's HEAD (GIT_BRANCH)")
	f.StringVar(&o.Image, "image", install.DefaultImage(), "operator image")
	f.StringVar(&o.AuthTokenSecret, "auth-token-secret", install.DefaultAuthTokenSecret,
		`Secret holding the API tokens (key "tokens"); "" mounts none, for OIDC-only setups`)
	f.BoolVar(&o.Access, "access", false,
		"also give the Role the rights of the Roles of `access` entries, so the operator may create them (up to pods/exec)")
	f.BoolVar(&o.Istio, "istio", false,
		"also give the Role the rights on Istio Gateways, VirtualServices and ServiceEntries (service_mesh, type: ServiceEntry)")
	f.BoolVar(&o.HelmCharts, "helm-charts", false,
		"also give the Role the rights on HelmCharts of helm.kubedex.com (type: HelmChart)")
	f.Int32Var(&o.MetricsPort, "metrics-port", install.DefaultMetricsPort,
		"pod port of /metrics (named metrics, for a PodMonitor; not in the Service); 0 serves it on the API's port")
	f.StringVarP(&output, "output", "o", install.FormatYAML, "output format: yaml or json")
	return cmd
}
