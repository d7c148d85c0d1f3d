package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/envop/envop/internal/manifest"
	"github.com/envop/envop/internal/render"
)

type renderFlags struct {
	file, env, output            string
	registry, project, namespace string
	pullSecrets                  []string
	ingressClass                 string
	storageClasses               []string
	versions, active             []string
	cpuLimit, memLimit           string
	cpuRequest, memRequest       string
}

func newRenderCmd(streams Streams) *cobra.Command {
	var fl renderFlags
	cmd := &cobra.Command{
		Use:   "render [-f] FILE --env NAME",
		Short: "Print the Kubernetes objects an environment renders to",
		Long: `Render prints the objects of one environment in apply order, as YAML documents or a JSON List.
Gist files are read relative to the manifest's folder. Invalid files are refused (exit 1).`,
		Args: manifestArg(&fl.file),
		RunE: func(cmd *cobra.Command, _ []string) error { return runRender(streams, &fl) },
	}
	f := cmd.Flags()
	f.StringVarP(&fl.file, "file", "f", "", "manifest file (environments.bitesize)")
	f.StringVar(&fl.env, "env", "", "environment to render (required)")
	f.StringVarP(&fl.output, "output", "o", "yaml", "output format: yaml or json")
	f.StringVar(&fl.namespace, "namespace", "", "namespace when the environment names none")
	fl.bindSettings(f)
	return cmd
}

// bindSettings adds the flags that set rendering as the operator's flags do;
// render and diff share them.
func (fl *renderFlags) bindSettings(f *pflag.FlagSet) {
	f.StringVar(&fl.registry, "registry", "", "image registry prefix (DOCKER_REGISTRY)")
	f.StringVar(&fl.project, "project", "", "image project prefix (PROJECT)")
	f.StringSliceVar(&fl.pullSecrets, "pull-secrets", nil, "image pull secrets, comma-separated")
	f.StringVar(&fl.ingressClass, "ingress-class", "", "default ingress class")
	f.StringArrayVar(&fl.storageClasses, "storage-class", nil, "volume TYPE=STORAGECLASS (repeatable)")
	f.StringArrayVar(&fl.versions, "version", nil, "WORKLOAD=VERSION override, as deployed through the API (repeatable)")
	f.StringArrayVar(&fl.active, "active", nil, "SERVICE=blue|green active colour override (repeatable)")
	f.StringVar(&fl.cpuLimit, "default-cpu-limit", "1000m", "CPU limit for services that set none")
	f.StringVar(&fl.memLimit, "default-memory-limit", "2048Mi", "memory limit for services that set none")
	f.StringVar(&fl.cpuRequest, "default-cpu-request", "100m", "CPU request for services that set none")
	f.StringVar(&fl.memRequest, "default-memory-request", "", "memory request for services that set none")
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
	f, diags, err := loadManifest(fl.file, fl.env)
	if err != nil {
		return err
	}
	fmt.Fprint(streams.Err, diags.String())
	if diags.HasErrors() {
		return &ExitError{Code: ExitFailed}
	}
	env := f.Environment(fl.env)
	if opts.Files, err = manifest.ReadGistFiles(os.DirFS(filepath.Dir(fl.file)), env); err != nil {
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

func (fl *renderFlags) options() (render.Options, error) {
	opts := render.Options{
		Registry: fl.registry, Project: fl.project, Namespace: fl.namespace,
		PullSecrets: fl.pullSecrets, IngressClass: fl.ingressClass,
		DefaultLimits: map[string]string{}, DefaultRequests: map[string]string{},
	}
	for flag, set := range map[string]struct {
		value, name string
		into        map[string]string
	}{
		"--default-cpu-limit":      {fl.cpuLimit, "cpu", opts.DefaultLimits},
		"--default-memory-limit":   {fl.memLimit, "memory", opts.DefaultLimits},
		"--default-cpu-request":    {fl.cpuRequest, "cpu", opts.DefaultRequests},
		"--default-memory-request": {fl.memRequest, "memory", opts.DefaultRequests},
	} {
		if set.value == "" {
			continue
		}
		if _, err := resource.ParseQuantity(set.value); err != nil {
			return opts, fmt.Errorf("%s: invalid quantity %q", flag, set.value)
		}
		set.into[set.name] = set.value
	}
	var err error
	if opts.StorageClasses, err = pairs("--storage-class", fl.storageClasses); err != nil {
		return opts, err
	}
	if opts.Versions, err = pairs("--version", fl.versions); err != nil {
		return opts, err
	}
	if opts.Active, err = pairs("--active", fl.active); err != nil {
		return opts, err
	}
	return opts, nil
}

// pairs parses repeated KEY=VALUE flags.
func pairs(flag string, values []string) (map[string]string, error) {
	out := map[string]string{}
	for _, v := range values {
		k, val, ok := strings.Cut(v, "=")
		if !ok || k == "" || val == "" {
			return nil, fmt.Errorf("%s: want KEY=VALUE, got %q", flag, v)
		}
		out[k] = val
	}
	return out, nil
}
