package cli

import (
	"cmp"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/envop/envop/internal/manifest"
	"github.com/envop/envop/internal/render"
)

// renderFlags are the flags of render, which diff shares.
type renderFlags struct {
	file, env, output string
	namespace         string
	// gistsDir is a local checkout of the gists repository (--gists-dir).
	gistsDir string
	settings renderSettings
	// versions and active stand for what serve takes from its state.
	versions, active []string

	// from says which settings came from variables, for their errors.
	from sources

	// policy is bound apart from the settings: it limits the file, and
	// renders nothing differently.
	policy policyFlags
}

func newRenderCmd(streams Streams) *cobra.Command {
	var fl renderFlags
	cmd := &cobra.Command{
		Use:   "render [-f] FILE --env NAME",
		Short: "Print the Kubernetes objects an environment renders to",
		Long: `Render prints the objects of one environment in apply order, as YAML documents or a JSON List.
Gist files are read from the manifest's folder, else from the root of the git repository it is in,
as the operator reads them; for an environment that names a gists repository (gists_repository),
from the root of the local checkout of it given with --gists-dir (required then). Invalid files are
refused (exit 1).
The rendering settings (--registry to --default-memory-request) are serve's, with the same
variables (DOCKER_REGISTRY, PROJECT, DOCKER_PULL_SECRETS, INGRESS_CLASS, OIDC_GROUPS_PREFIX) and
defaults; a flag given wins over its variable.
A file the installer's policy refuses (--allowed-secrets, --allowed-hosts, --vault-path-prefix,
--max-cpu-limit, --max-memory-limit, --max-hpa-replicas, default ALLOWED_SECRETS, ALLOWED_HOSTS,
VAULT_PATH_PREFIX, LIMITS_MAX_CPU, LIMITS_MAX_MEMORY, HPA_MAX_REPLICAS) is refused as an invalid one.`,
		Args: manifestArg(&fl.file),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := fl.fromEnv(cmd.Flags(), streams.getenv); err != nil {
				return err
			}
			return runRender(streams, &fl)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&fl.file, "file", "f", "", "manifest file (environments.bitesize)")
	f.StringVar(&fl.env, "env", "", "environment to render (required)")
	f.StringVarP(&fl.output, "output", "o", "yaml", "output format: yaml or json")
	f.StringVar(&fl.namespace, "namespace", "", "namespace when the environment names none")
	f.StringVar(&fl.gistsDir, "gists-dir", "", gistsDirUsage)
	fl.bindSettings(f)
	fl.policy.bind(f)
	return cmd
}

func runRender(streams Streams, fl *renderFlags) error {
	if fl.env == "" {
		return exitf(ExitUsage, "--env NAME is required")
	}
	if fl.output != "yaml" && fl.output != "json" {
		return exitf(ExitUsage, "unknown output format %q (want yaml or json)", fl.output)
	}
	opts, err := fl.options()
	if err != nil {
		return &ExitError{Code: ExitUsage, Err: err}
	}
	policy, err := fl.policy.policy(fl.from)
	if err != nil {
		return &ExitError{Code: ExitUsage, Err: err}
	}
	if err := checkGistsDir(fl.gistsDir); err != nil {
		return err
	}
	if err := checkDefaults(opts, policy, fl.from); err != nil {
		return &ExitError{Code: ExitUsage, Err: err}
	}
	f, diags, err := loadManifest(fl.file, fl.env, fl.gistsDir, policy)
	if err != nil {
		return err
	}
	fmt.Fprint(streams.Err, diags.String())
	if diags.HasErrors() {
		return &ExitError{Code: ExitFailed}
	}
	env := f.Environment(fl.env)
	if err := fl.checkOverrides(env); err != nil {
		return &ExitError{Code: ExitUsage, Err: err}
	}
	if err := checkServiceNamespaces(streams, fl.file, f, env, cmp.Or(env.Namespace, fl.namespace)); err != nil {
		return err
	}
	if opts.Files, err = readGists(fl.file, fl.gistsDir, env); err != nil {
		return exitf(ExitFailed, "%v", err)
	}
	res, err := render.Render(env, f.Project, opts)
	if err != nil {
		return exitf(ExitFailed, "%v", err)
	}
	for _, s := range res.Skipped {
		fmt.Fprintf(streams.Err, "skipped %s (service %s): %s\n", s.Workload, s.Service, s.Reason)
	}
	return writeObjects(streams, fl.output, res)
}

func writeObjects(streams Streams, output string, res *render.Result) error {
	encode := render.EncodeYAML
	if output == "json" {
		encode = render.EncodeJSONList
	}
	data, err := encode(res.Objects)
	if err != nil {
		return err
	}
	if _, err := streams.Out.Write(data); err != nil {
		return fmt.Errorf("write objects: %w", err)
	}
	return nil
}

// checkServiceNamespaces refuses, as the operator does, services whose
// namespace is not ns, the one the environment is applied in (when known).
func checkServiceNamespaces(streams Streams, file string, f *manifest.File, env *manifest.Environment, ns string) error {
	if ns == "" {
		return nil
	}
	bad := manifest.ServiceNamespaces(f, env, ns)
	if len(bad) == 0 {
		return nil
	}
	for i := range bad {
		bad[i].File = cmp.Or(file, manifest.DefaultFile)
	}
	fmt.Fprint(streams.Err, bad.String())
	return &ExitError{Code: ExitFailed}
}
