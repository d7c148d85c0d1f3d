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

// settingVar is a rendering flag that `serve` also reads from a variable.
type settingVar struct {
	flag, variable string
	set            func(string)
}

// settingVars are the variables `serve` reads rendering settings from.
// render and diff read the same ones, so that in the operator's environment
// they render what it renders; a flag given wins, as in serve.
func (fl *renderFlags) settingVars() []settingVar {
	return []settingVar{
		{"registry", "DOCKER_REGISTRY", func(v string) { fl.registry, fl.registryFrom = v, "DOCKER_REGISTRY" }},
		{"project", "PROJECT", func(v string) { fl.project = v }},
		{"pull-secrets", "DOCKER_PULL_SECRETS", func(v string) { fl.pullSecrets = splitList(v) }},
		{"ingress-class", "INGRESS_CLASS", func(v string) { fl.ingressClass = v }},
		{"oidc-groups-prefix", "OIDC_GROUPS_PREFIX", func(v string) { fl.oidcGroupsPrefix = v }},
	}
}

// bindSettings adds the flags that set rendering as the operator's flags do;
// render and diff share them.
func (fl *renderFlags) bindSettings(f *pflag.FlagSet) {
	f.StringVar(&fl.registry, "registry", "", "image registry prefix, HOST[:PORT][/PATH] without a scheme [DOCKER_REGISTRY]")
	f.StringVar(&fl.project, "project", "", "image project prefix [PROJECT]")
	f.StringSliceVar(&fl.pullSecrets, "pull-secrets", nil, "image pull secrets, comma-separated [DOCKER_PULL_SECRETS]")
	f.StringVar(&fl.ingressClass, "ingress-class", "", "default ingress class [INGRESS_CLASS]")
	f.StringVar(&fl.oidcGroupsPrefix, "oidc-groups-prefix", "", "the API server's --oidc-groups-prefix, put before the groups of access entries in RoleBindings [OIDC_GROUPS_PREFIX]")
	f.StringArrayVar(&fl.storageClasses, "storage-class", nil, "volume TYPE=STORAGECLASS (repeatable)")
	f.StringArrayVar(&fl.versions, "version", nil, "WORKLOAD=VERSION override, as deployed through the API; a blue/green service's workloads are NAME-blue and NAME-green (repeatable)")
	f.StringArrayVar(&fl.active, "active", nil, "SERVICE=blue|green active colour of a blue/green service, as promoted through the API (repeatable)")
	f.StringVar(&fl.cpuLimit, "default-cpu-limit", "1000m", "CPU limit for services that set none")
	f.StringVar(&fl.memLimit, "default-memory-limit", "2048Mi", "memory limit for services that set none")
	f.StringVar(&fl.cpuRequest, "default-cpu-request", "100m", "CPU request for services that set none")
	f.StringVar(&fl.memRequest, "default-memory-request", "", "memory request for services that set none")
}

// fromEnv gives each setting flag not on the command line the value of its
// variable; an empty variable counts as unset, as in serve.
func (fl *renderFlags) fromEnv(f *pflag.FlagSet) {
	fl.registryFrom = "--registry"
	for _, s := range fl.settingVars() {
		if v := env(s.variable, ""); v != "" && !f.Changed(s.flag) {
			s.set(v)
		}
	}
}

func (fl *renderFlags) options() (render.Options, error) {
	if err := checkRegistry(fl.registryFrom, fl.registry); err != nil {
		return render.Options{}, err
	}
	opts := render.Options{
		Registry: fl.registry, Project: fl.project, Namespace: fl.namespace,
		PullSecrets: fl.pullSecrets, IngressClass: fl.ingressClass, OIDCGroupsPrefix: fl.oidcGroupsPrefix,
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

// checkRegistry is render.CheckRegistry naming the flag or variable the
// value came from.
func checkRegistry(from, registry string) error {
	err := render.CheckRegistry(registry)
	if err == nil {
		return nil
	}
	if strings.HasPrefix(from, "-") {
		return fmt.Errorf("%s %s: %w", from, registry, err)
	}
	return fmt.Errorf("%s=%s: %w", from, registry, err)
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
