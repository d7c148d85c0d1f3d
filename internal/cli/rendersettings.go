package cli

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/envop/envop/internal/manifest"
	"github.com/envop/envop/internal/render"
)

// renderSettings change what an environment renders to. serve renders
// with them, and render and diff show what serve renders with the same
// ones: each flag, its help, its variable and its default are declared
// once, here, and bound by the three commands.
type renderSettings struct {
	registry, project         string
	pullSecrets               []string
	ingressClass              string
	oidcGroupsPrefix          string
	storageClasses            []string
	cpuLimit, memoryLimit     string
	cpuRequest, memoryRequest string
}

// bind adds the settings' flags to fs; the variables are the original
// operator's names.
func (s *renderSettings) bind(fs *pflag.FlagSet) {
	fs.StringVar(&s.registry, "registry", "", "image registry prefix, HOST[:PORT][/PATH] without a scheme")
	withVariable(fs, "registry", "DOCKER_REGISTRY")
	fs.StringVar(&s.project, "project", "", "image project prefix")
	withVariable(fs, "project", "PROJECT")
	fs.Var(newListValue(&s.pullSecrets), "pull-secrets", "image pull secrets, comma-separated")
	withVariable(fs, "pull-secrets", "DOCKER_PULL_SECRETS")
	fs.StringVar(&s.ingressClass, "ingress-class", "", "default ingress class")
	withVariable(fs, "ingress-class", "INGRESS_CLASS")
	fs.StringVar(&s.oidcGroupsPrefix, "oidc-groups-prefix", "", "the API server's --oidc-groups-prefix, put before the groups of access entries in RoleBindings")
	withVariable(fs, "oidc-groups-prefix", "OIDC_GROUPS_PREFIX")
	fs.StringArrayVar(&s.storageClasses, "storage-class", nil, "volume type to storage class, TYPE=CLASS (repeatable)")
	limits, requests := render.DefaultLimits(), render.DefaultRequests()
	fs.StringVar(&s.cpuLimit, "default-cpu-limit", limits["cpu"], "CPU limit of the containers of services that set none")
	withVariable(fs, "default-cpu-limit", "LIMITS_DEFAULT_CPU")
	fs.StringVar(&s.memoryLimit, "default-memory-limit", limits["memory"], "memory limit of the containers of services that set none")
	withVariable(fs, "default-memory-limit", "LIMITS_DEFAULT_MEMORY")
	fs.StringVar(&s.cpuRequest, "default-cpu-request", requests["cpu"], "CPU request of the containers of services that set none")
	withVariable(fs, "default-cpu-request", "REQUESTS_DEFAULT_CPU")
	fs.StringVar(&s.memoryRequest, "default-memory-request", requests["memory"], "memory request of the containers of services that set none")
}

// options validates the settings, wherever each came from, and returns
// them as rendering options. Every problem is reported at once, naming
// the flag or the variable its value came from.
func (s *renderSettings) options(from sources) (render.Options, error) {
	var errs []error
	if err := render.CheckRegistry(s.registry); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", from.setting("registry", s.registry), err))
	}
	opts := render.Options{
		Registry: s.registry, Project: s.project, PullSecrets: s.pullSecrets,
		IngressClass: s.ingressClass, OIDCGroupsPrefix: s.oidcGroupsPrefix,
		DefaultLimits: map[string]string{}, DefaultRequests: map[string]string{},
	}
	for _, q := range []struct {
		flag, value, resource string
		into                  map[string]string
	}{
		{"default-cpu-limit", s.cpuLimit, "cpu", opts.DefaultLimits},
		{"default-memory-limit", s.memoryLimit, "memory", opts.DefaultLimits},
		{"default-cpu-request", s.cpuRequest, "cpu", opts.DefaultRequests},
		{"default-memory-request", s.memoryRequest, "memory", opts.DefaultRequests},
	} {
		if q.value == "" {
			continue
		}
		if _, err := resource.ParseQuantity(q.value); err != nil {
			errs = append(errs, fmt.Errorf("%s: invalid quantity (e.g. 500m, 2, 512Mi)", from.setting(q.flag, q.value)))
			continue
		}
		q.into[q.resource] = q.value
	}
	var err error
	if opts.StorageClasses, err = pairs("--storage-class", "TYPE=CLASS", s.storageClasses); err != nil {
		errs = append(errs, err)
	}
	return opts, errors.Join(errs...)
}

// bindSettings adds the flags of the rendering settings, as serve's, and
// of the overrides of what serve takes from its state; render and diff
// share them.
func (fl *renderFlags) bindSettings(f *pflag.FlagSet) {
	fl.settings.bind(f)
	f.StringArrayVar(&fl.versions, "version", nil, "WORKLOAD=VERSION override, as deployed through the API; a blue/green service's workloads are NAME-blue and NAME-green (repeatable)")
	f.StringArrayVar(&fl.active, "active", nil, "SERVICE=blue|green active colour of a blue/green service, as promoted through the API (repeatable)")
}

// fromEnv gives each flag not on the command line the value of its
// variable, as serve does; it runs once the command line is parsed.
func (fl *renderFlags) fromEnv(f *pflag.FlagSet, getenv func(string) string) error {
	from, err := applyVariables(f, getenv)
	if err != nil {
		return &ExitError{Code: ExitUsage, Err: err}
	}
	fl.from = from
	fl.policy.fromEnv(getenv)
	return nil
}

// options validates the settings and overrides and returns them as
// rendering options.
func (fl *renderFlags) options() (render.Options, error) {
	opts, err := fl.settings.options(fl.from)
	errs := []error{err}
	opts.Namespace = fl.namespace
	if opts.Versions, err = pairs("--version", "WORKLOAD=VERSION", fl.versions); err != nil {
		errs = append(errs, err)
	}
	if opts.Active, err = pairs("--active", "SERVICE=COLOUR", fl.active); err != nil {
		errs = append(errs, err)
	}
	return opts, errors.Join(errs...)
}

// pairs parses the values of a repeated KEY=VALUE flag; want says what
// KEY=VALUE stands for, for errors. Every bad value is reported.
func pairs(flag, want string, values []string) (map[string]string, error) {
	out := map[string]string{}
	var errs []error
	for _, v := range values {
		k, val, ok := strings.Cut(v, "=")
		if !ok || k == "" || val == "" {
			errs = append(errs, fmt.Errorf("%s %s: want %s", flag, v, want))
			continue
		}
		out[k] = val
	}
	return out, errors.Join(errs...)
}

// checkOverrides refuses --version and --active values the renderer would
// ignore without a word: it reads versions by workload and active colours
// by blue/green service, and nothing else. Every bad value is reported.
func (fl *renderFlags) checkOverrides(env *manifest.Environment) error {
	var errs []error
	for _, kv := range fl.versions {
		workload, version, _ := strings.Cut(kv, "=")
		if err := checkVersionOverride(env, workload, version); err != nil {
			errs = append(errs, fmt.Errorf("--version %s: %w", kv, err))
		}
	}
	for _, kv := range fl.active {
		service, colour, _ := strings.Cut(kv, "=")
		if err := checkActiveOverride(env, service, colour); err != nil {
			errs = append(errs, fmt.Errorf("--active %s: %w", kv, err))
		}
	}
	return errors.Join(errs...)
}

// checkVersionOverride accepts a version the API would accept, for a
// workload the environment renders. A blue/green service has no workload
// of its own name: its colours are NAME-blue and NAME-green, and which one a
// version goes to is the user's to say (a deploy through the API picks the
// inactive one, which depends on promotions this command may not know of).
func checkVersionOverride(env *manifest.Environment, workload, version string) error {
	if msgs := validation.IsValidLabelValue(version); len(msgs) > 0 {
		return fmt.Errorf("version %q: %s", version, msgs[0])
	}
	if s := env.Service(workload); s != nil {
		if s.IsBlueGreen(env) {
			return fmt.Errorf("service %q is blue/green: give the colour, --version %s-%s=%s or --version %s-%s=%s",
				workload, workload, manifest.ColourBlue, version, workload, manifest.ColourGreen, version)
		}
		return nil
	}
	for _, colour := range []string{manifest.ColourBlue, manifest.ColourGreen} {
		name, ok := strings.CutSuffix(workload, "-"+colour)
		if s := env.Service(name); ok && s != nil {
			if s.IsBlueGreen(env) {
				return nil
			}
			return fmt.Errorf("service %q is not blue/green: give --version %s=%s", name, name, version)
		}
	}
	return fmt.Errorf("environment %q has no service %q", env.Name, workload)
}

// checkActiveOverride accepts blue or green for a blue/green service.
func checkActiveOverride(env *manifest.Environment, service, colour string) error {
	s := env.Service(service)
	switch {
	case s == nil:
		return fmt.Errorf("environment %q has no service %q", env.Name, service)
	case colour != manifest.ColourBlue && colour != manifest.ColourGreen:
		return fmt.Errorf("the colour is %s or %s", manifest.ColourBlue, manifest.ColourGreen)
	case !s.IsBlueGreen(env):
		return fmt.Errorf("service %q is not blue/green", service)
	}
	return nil
}
