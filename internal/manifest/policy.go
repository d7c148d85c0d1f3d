package manifest

import (
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

// Policy is what the installer allows an environment file to reference.
type Policy struct {
	// OwnSecrets are the names of the operator's own Secrets (whatever their names);
	// no reference may name them.
	OwnSecrets []string
	// AllowedSecrets, when not empty, are path.Match patterns every referenced Secret must match.
	AllowedSecrets []string
	// AllowedHosts, when not empty, are host suffix patterns every Ingress host must match.
	AllowedHosts []string
	// VaultPathPrefix, when set, is the Vault path every `tls: {vault: PATH}` must lie under.
	VaultPathPrefix string
	// VaultMount is the KV v2 mount the paths are relative to: a path may
	// name it (MOUNT/path or MOUNT/data/path), and the prefix is compared
	// with what follows.
	VaultMount string
	// Caps is the most a service may ask for; see Caps.
	Caps Caps
}

// Check reports, with positions, every reference of f that p refuses.
// Secrets are those pods read (env, env_from, volumes, in services, presets
// and init containers) and those Ingress certificates are written to
// (tls_secret, else the default <ingress>-tls): cert-manager or Vault
// would overwrite whatever Secret that names.
func (p Policy) Check(f *File) Diagnostics {
	if f == nil {
		return nil
	}
	v := &checker{f: f}
	for i := range f.Environments {
		e := &f.Environments[i]
		if e.Deployment != nil {
			p.customURLs(v, e.Deployment)
		}
		for j := range e.Presets {
			p.secrets(v, presetRefs(&e.Presets[j]))
		}
		for j := range e.Services {
			s := &e.Services[j]
			p.secrets(v, serviceRefs(e, s))
			p.hosts(v, e, s)
			p.vault(v, s)
			p.Caps.check(v, s)
		}
	}
	v.diags.Sort()
	return v.diags
}

// Validate reports malformed settings (bad patterns, bad prefix) as an error naming the setting (flag names: --allowed-secrets, --allowed-hosts, --vault-path-prefix).
func (p Policy) Validate() error {
	var errs []error
	for _, pattern := range p.AllowedSecrets {
		if _, err := path.Match(pattern, ""); err != nil || pattern == "" {
			errs = append(errs, fmt.Errorf("--allowed-secrets: %q is not a pattern of Secret names (path.Match syntax: *, ?, [a-z])", pattern))
		}
	}
	for _, pattern := range p.AllowedHosts {
		if !validHostPattern(pattern) {
			errs = append(errs, fmt.Errorf("--allowed-hosts: %q is not a host suffix: write example.com (it and its subdomains) or .example.com (its subdomains only)", pattern))
		}
	}
	if p.VaultPathPrefix != "" {
		if _, ok := vaultSegments(p.VaultPathPrefix); !ok {
			errs = append(errs, fmt.Errorf("--vault-path-prefix: %q is not a Vault path: give segments separated by /, none empty, . or ..", p.VaultPathPrefix))
		}
	}
	return errors.Join(errs...)
}

// secrets refuses the operator's own Secrets and, with AllowedSecrets,
// every Secret that matches none of them.
func (p Policy) secrets(v *checker, refs []objectRef) {
	for _, r := range refs {
		switch {
		case r.kind != kindSecret:
		case slices.Contains(p.OwnSecrets, r.name):
			v.errorf(r.path, "%s is one of the operator's own Secrets, which the file may not use%s", describeSecret(r), fixSecret(r))
		case len(p.AllowedSecrets) > 0 && !matchesAny(p.AllowedSecrets, r.name):
			v.errorf(r.path, "%s matches none of the Secrets the installer allows (%s)%s", describeSecret(r), strings.Join(p.AllowedSecrets, ", "), fixSecret(r))
		}
	}
}

func describeSecret(r objectRef) string {
	switch {
	case r.ingress != "":
		return fmt.Sprintf("Secret %q (where cert-manager or Vault write the certificate of Ingress %q when tls_secret is not set)", r.name, r.ingress)
	case r.tls:
		return fmt.Sprintf("Secret %q (where cert-manager or Vault write the Ingress certificate)", r.name)
	}
	return fmt.Sprintf("Secret %q", r.name)
}

func fixSecret(r objectRef) string {
	if r.ingress != "" {
		return ": set tls_secret to an allowed name"
	}
	return ": name another Secret"
}

// hosts refuses, with AllowedHosts, every host outside them: external_url,
// blue/green custom_urls, and the preview hosts derived from external_url
// (api.example.com → api-blue.example.com) for a colour without custom_urls.
func (p Policy) hosts(v *checker, e *Environment, s *Service) {
	if len(p.AllowedHosts) == 0 {
		return
	}
	up := joinPath(s.Path, "external_url")
	for i, h := range s.ExternalURL {
		hp := itemPath(up, i)
		if !v.f.positions.has(hp) {
			hp = up
		}
		if !p.hostAllowed(h) {
			v.errorf(hp, "host %q is not under a host the installer allows (%s)", h, strings.Join(p.AllowedHosts, ", "))
			continue
		}
		p.previewHosts(v, e, s, h, hp)
	}
	if s.Deployment != nil {
		p.customURLs(v, s.Deployment)
	}
}

// previewHosts checks the preview hosts derived from the allowed host h.
func (p Policy) previewHosts(v *checker, e *Environment, s *Service, h, hp string) {
	if !s.IsBlueGreen(e) {
		return
	}
	for _, colour := range []string{ColourBlue, ColourGreen} {
		if s.Deployment != nil && len(s.Deployment.CustomURLs[colour]) > 0 {
			continue
		}
		if ph := previewHost(h, colour); !p.hostAllowed(ph) {
			v.errorf(hp, "the %s preview host %q derived from %q is not under a host the installer allows (%s): set deployment.custom_urls.%s", colour, ph, h, strings.Join(p.AllowedHosts, ", "), colour)
		}
	}
}

func (p Policy) customURLs(v *checker, d *Deployment) {
	if len(p.AllowedHosts) == 0 {
		return
	}
	for _, colour := range sortedKeys(d.CustomURLs) {
		cp := keyPath(joinPath(d.Path, "custom_urls"), colour)
		for i, h := range d.CustomURLs[colour] {
			hp := itemPath(cp, i)
			if !v.f.positions.has(hp) {
				hp = cp
			}
			if !p.hostAllowed(h) {
				v.errorf(hp, "host %q is not under a host the installer allows (%s)", h, strings.Join(p.AllowedHosts, ", "))
			}
		}
	}
}

// hostAllowed matches host against the suffix patterns, in lowercase:
// example.com allows it and its subdomains (never badexample.com),
// .example.com its subdomains only. A wildcard host *.example.com is a set
// of subdomains and is allowed by either.
func (p Policy) hostAllowed(host string) bool {
	host = strings.ToLower(host)
	for _, pattern := range p.AllowedHosts {
		pattern = strings.ToLower(pattern)
		if sub, ok := strings.CutPrefix(pattern, "."); ok {
			if strings.HasSuffix(host, "."+sub) {
				return true
			}
			continue
		}
		if host == pattern || strings.HasSuffix(host, "."+pattern) {
			return true
		}
	}
	return false
}

func validHostPattern(pattern string) bool {
	domain := strings.TrimPrefix(strings.ToLower(pattern), ".")
	return domain != "" && len(validation.IsDNS1123Subdomain(domain)) == 0
}

// vault refuses, with VaultPathPrefix, a tls.vault path outside it.
func (p Policy) vault(v *checker, s *Service) {
	if p.VaultPathPrefix == "" || s.TLS == nil || s.TLS.Vault == "" {
		return
	}
	if !underVaultPrefix(RelativeVaultPath(s.TLS.Vault, p.VaultMount), p.VaultPathPrefix) {
		v.errorf(joinPath(s.TLS.Path, "vault"), "Vault path %q is not inside %s/, the prefix the installer allows (whole segments; empty, . and .. segments are refused)", s.TLS.Vault, strings.Trim(p.VaultPathPrefix, "/"))
	}
}

// underVaultPrefix compares by whole segments, after leading and trailing
// slashes: team-a holds team-a/x, not team-ab/x nor team-a itself. A path
// with an empty, . or .. segment is never inside, whatever Vault would
// make of it.
func underVaultPrefix(vaultPath, prefix string) bool {
	segs, ok := vaultSegments(vaultPath)
	pre, preOK := vaultSegments(prefix)
	if !ok || !preOK || len(segs) <= len(pre) {
		return false
	}
	for i := range pre {
		if segs[i] != pre[i] {
			return false
		}
	}
	return true
}

// vaultSegments splits a path without its outer slashes; ok is false when
// a segment is empty, . or ..
func vaultSegments(p string) ([]string, bool) {
	segs := strings.Split(strings.Trim(p, "/"), "/")
	for _, s := range segs {
		if s == "" || s == "." || s == ".." {
			return nil, false
		}
	}
	return segs, true
}

func matchesAny(patterns []string, name string) bool {
	for _, pattern := range patterns {
		if ok, err := path.Match(pattern, name); ok && err == nil {
			return true
		}
	}
	return false
}

// RelativeVaultPath is path relative to the KV v2 mount: a path is
// accepted as `vault kv get` takes it (MOUNT/path), as the HTTP API names
// it (MOUNT/data/path), or already relative to the mount.
func RelativeVaultPath(path, mount string) string {
	mount = strings.Trim(mount, "/")
	if mount == "" {
		return path
	}
	for _, prefix := range []string{mount + "/data/", mount + "/"} {
		if rest, ok := strings.CutPrefix(path, prefix); ok {
			return rest
		}
	}
	return path
}
