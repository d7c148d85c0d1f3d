package manifest

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/api/validate/content"
	"k8s.io/apimachinery/pkg/util/validation"
)

// Validate checks the values of a decoded file and returns every error. It
// copes with partly decoded files, so a file with type errors still gets
// all its other mistakes reported.
func Validate(f *File) Diagnostics {
	v := &checker{f: f}
	if f == nil {
		return nil
	}
	v.labelValue("project", f.Project)
	if len(f.Environments) == 0 {
		v.errorf("environments", "at least one environment is required")
	}
	names := map[string]string{}
	for i := range f.Environments {
		e := &f.Environments[i]
		v.environment(e)
		v.unique(names, e.Name, joinPath(e.Path, "name"), "environment")
	}
	v.diags.Sort()
	return v.diags
}

// checker collects diagnostics with the positions the decoder recorded.
type checker struct {
	f     *File
	diags Diagnostics
}

func (v *checker) add(sev Severity, path, format string, args ...any) {
	pos := v.f.Position(path)
	v.diags = append(v.diags, Diagnostic{
		File: v.f.Name, Line: pos.Line, Col: pos.Col, Path: path,
		Message: fmt.Sprintf(format, args...), Severity: sev,
	})
}

func (v *checker) errorf(path, format string, args ...any) {
	v.add(SeverityError, path, format, args...)
}

func (v *checker) warnf(path, format string, args ...any) {
	v.add(SeverityWarning, path, format, args...)
}

// msgs reports the messages of an apimachinery validation helper.
func (v *checker) msgs(path string, msgs []string) bool {
	if len(msgs) == 0 {
		return true
	}
	v.errorf(path, "%s", strings.Join(msgs, "; "))
	return false
}

// invalid reports the messages of a helper about a value, naming the value.
func (v *checker) invalid(path, value string, msgs []string) bool {
	if len(msgs) == 0 {
		return true
	}
	v.errorf(path, "invalid value %q: %s%s", value, strings.Join(msgs, "; "), slashComment(value))
	return false
}

// slashComment is a hint for a value that holds what looks like a comment
// written as in other languages: YAML takes it as part of the value.
func slashComment(value string) string {
	if strings.Contains(value, " //") {
		return " (YAML comments start with #, not //: the text after // is part of the value)"
	}
	return ""
}

func (v *checker) required(path, value string) bool {
	if value == "" {
		v.errorf(path, "required")
		return false
	}
	return true
}

func (v *checker) oneOf(path, value string, allowed ...string) {
	if value == "" {
		return
	}
	for _, a := range allowed {
		if value == a {
			return
		}
	}
	v.errorf(path, "must be one of %s, got %q%s", strings.Join(allowed, ", "), value, slashComment(value))
}

func (v *checker) unique(seen map[string]string, name, path, what string) {
	if name == "" {
		return
	}
	if first, ok := seen[name]; ok {
		v.errorf(path, "duplicate %s name %q (first at %s)", what, name, first)
		return
	}
	seen[name] = path
}

func (v *checker) dnsLabel(path, value string) {
	if value != "" {
		v.invalid(path, value, validation.IsDNS1123Label(value))
	}
}

func (v *checker) dnsSubdomain(path, value string) {
	if value != "" {
		v.invalid(path, value, validation.IsDNS1123Subdomain(value))
	}
}

func (v *checker) labelValue(path, value string) {
	if value != "" {
		v.invalid(path, value, content.IsLabelValue(value))
	}
}

func (v *checker) labels(path string, labels map[string]string) {
	for _, k := range sortedKeys(labels) {
		kp := keyPath(path, k)
		v.invalid(kp, k, content.IsLabelKey(k))
		v.invalid(kp, labels[k], content.IsLabelValue(labels[k]))
	}
}

func (v *checker) environment(e *Environment) {
	if v.required(joinPath(e.Path, "name"), e.Name) {
		v.labelValue(joinPath(e.Path, "name"), e.Name)
	}
	v.dnsLabel(joinPath(e.Path, "namespace"), e.Namespace)
	if e.Deployment != nil {
		v.deployment(e.Deployment, "")
	}
	// A misspelt level must not quietly render the laxer default.
	v.oneOf(joinPath(e.Path, "pod_security"), e.PodSecurity, PodSecurityBaseline, PodSecurityRestricted)
	v.labels(joinPath(e.Path, "node_selector"), e.NodeSelector)
	v.tolerations(e.Tolerations)
	v.gists(e)
	v.gistsRepository(e)
	v.presets(e)
	v.access(e)
	v.services(e)
}

func (v *checker) gists(e *Environment) {
	seen := map[string]string{}
	for _, g := range e.Gists {
		np := joinPath(g.Path, "name")
		if v.required(np, g.Name) {
			v.dnsSubdomain(np, g.Name)
			v.definesReserved(np, g.Name)
		}
		v.unique(seen, g.Name, np, "gist")
		v.oneOf(joinPath(g.Path, "type"), g.Type, "configmap")
		switch {
		case g.Source == "" && len(g.Files) == 0:
			v.errorf(g.Path, "one of path or files is required")
		case g.Source != "" && len(g.Files) > 0:
			v.errorf(joinPath(g.Path, "files"), "path and files are mutually exclusive")
		}
		for i, file := range append([]string{g.Source}, g.Files...) {
			p := joinPath(g.Path, "path")
			if i > 0 {
				p = itemPath(joinPath(g.Path, "files"), i-1)
			}
			if strings.HasPrefix(file, "/") || strings.Contains("/"+file+"/", "/../") {
				v.errorf(p, "must be a relative path inside the repository, got %q", file)
			}
		}
	}
}

func (v *checker) presets(e *Environment) {
	seen := map[string]string{}
	for i := range e.Presets {
		ps := &e.Presets[i]
		np := joinPath(ps.Path, "name")
		if v.required(np, ps.Name) {
			v.dnsLabel(np, ps.Name)
		}
		v.unique(seen, ps.Name, np, "preset")
		v.labels(joinPath(ps.Path, "selector"), ps.Selector)
		v.envVars(ps.Env)
		v.envFrom(ps.EnvFrom)
		v.volumes(ps.Volumes, "deployment")
		v.annotations(joinPath(ps.Path, "annotations"), ps.Annotations)
		v.initContainers(&Service{InitContainers: ps.InitContainers, Volumes: ps.Volumes})
		v.reservedRefs(presetRefs(ps))
		v.reservedClaims(ps.Volumes, ps.InitContainers)
	}
}

// AccessRoles are the roles a user or group can hold (docs/manifest.md),
// lowest first: each includes the rights of those before it.
var AccessRoles = []string{"view", "deploy", "admin"}

func (v *checker) access(e *Environment) {
	for _, a := range e.Access {
		switch {
		case a.Group == "" && a.User == "":
			v.errorf(a.Path, "one of group or user is required")
		case a.Group != "" && a.User != "":
			v.errorf(joinPath(a.Path, "user"), "group and user are mutually exclusive")
		}
		if a.Group != "" || a.User != "" {
			v.accessSubject(joinPath(a.Path, "group"), "group", a.Group)
			v.accessSubject(joinPath(a.Path, "user"), "user", a.User)
		}
		if v.required(joinPath(a.Path, "role"), a.Role) {
			v.oneOf(joinPath(a.Path, "role"), a.Role, AccessRoles...)
		}
		v.accessServices(e, a)
	}
}

// accessServices checks an entry's `services`: names of services, or `*`
// alone. A name the file does not (or no longer) define only warns: the
// entry grants nothing over it.
func (v *checker) accessServices(e *Environment, a Access) {
	if a.Services == nil {
		return
	}
	path := joinPath(a.Path, "services")
	if len(a.Services) == 0 {
		v.errorf(path, "lists no service: leave it out for every service, or name them")
		return
	}
	for i, name := range a.Services {
		p := itemPath(path, i)
		switch {
		case name == "*" && len(a.Services) > 1:
			v.errorf(p, "`*` stands alone: it already means every service")
		case name == "*":
		case !v.invalid(p, name, validation.IsDNS1123Label(name)):
		case e.Service(name) == nil:
			v.warnf(p, "no service %q in this environment: the entry grants nothing over it", name)
		}
	}
}

var tolerationOperators = []string{"Exists", "Equal"}
var tolerationEffects = []string{"NoSchedule", "PreferNoSchedule", "NoExecute"}

func (v *checker) tolerations(ts []Toleration) {
	for _, t := range ts {
		if t.Key != "" {
			v.msgs(joinPath(t.Path, "key"), content.IsLabelKey(t.Key))
		}
		v.oneOf(joinPath(t.Path, "operator"), t.Operator, tolerationOperators...)
		v.oneOf(joinPath(t.Path, "effect"), t.Effect, tolerationEffects...)
		if t.Operator == "Exists" && t.Value != "" {
			v.errorf(joinPath(t.Path, "value"), "must be empty when operator is Exists")
		}
		if t.Key == "" && t.Operator != "Exists" {
			v.errorf(joinPath(t.Path, "operator"), "must be Exists when key is empty")
		}
		if t.TolerationSeconds != nil && t.Effect != "NoExecute" {
			v.errorf(joinPath(t.Path, "toleration_seconds"), "only applies to effect NoExecute")
		}
	}
}

func (v *checker) deployment(d *Deployment, kind string) {
	v.oneOf(joinPath(d.Path, "method"), d.Method, MethodRollingUpgrade, MethodBlueGreen)
	v.oneOf(joinPath(d.Path, "active"), d.Active, ColourBlue, ColourGreen)
	v.oneOf(joinPath(d.Path, "mode"), d.Mode, "manual", "auto")
	for _, colour := range sortedKeys(d.CustomURLs) {
		cp := keyPath(joinPath(d.Path, "custom_urls"), colour)
		if colour != ColourBlue && colour != ColourGreen {
			v.errorf(cp, "unknown colour %q (want blue or green)", colour)
		}
		v.hosts(cp, d.CustomURLs[colour])
	}
	if d.Method == MethodBlueGreen && kind != "" && kind != KindDeployment {
		v.errorf(joinPath(d.Path, "method"), "bluegreen needs kind deployment, not %s", kind)
	}
}

func (v *checker) hosts(path string, hosts []string) {
	for i, h := range hosts {
		hp := itemPath(path, i)
		if len(hosts) == 1 && !v.f.positions.has(hp) {
			hp = path
		}
		if h == "" {
			v.errorf(hp, "empty host name")
			continue
		}
		if strings.HasPrefix(h, "*.") {
			v.invalid(hp, h, validation.IsWildcardDNS1123Subdomain(h))
			continue
		}
		v.invalid(hp, h, validation.IsDNS1123Subdomain(h))
	}
}
