package cli

import (
	"cmp"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/envop/envop/internal/manifest"
	"github.com/envop/envop/internal/render"
	"github.com/envop/envop/internal/vault"
)

// policyFlags are the installer's limits on what an environment file may
// reference (manifest.Policy). serve, validate, render and diff bind the
// same flags and variables, so the CLI refuses what the operator refuses.
type policyFlags struct {
	allowedSecrets  string
	allowedHosts    string
	vaultPathPrefix string
	// vaultMount is VAULT_KV_MOUNT, which paths are relative to.
	vaultMount string
	// The caps on what a service may ask for, as given.
	maxCPU, maxMemory, maxHPAReplicas string
}

func (p *policyFlags) bind(fs *pflag.FlagSet) {
	fs.StringVar(&p.allowedSecrets, "allowed-secrets", "", "Secrets the file may reference, comma-separated path.Match patterns (default: any but the operator's)")
	withVariable(fs, "allowed-secrets", "ALLOWED_SECRETS")
	fs.StringVar(&p.allowedHosts, "allowed-hosts", "", "Ingress host suffixes the file may use, comma-separated: example.com (and its subdomains), .example.com (subdomains only)")
	withVariable(fs, "allowed-hosts", "ALLOWED_HOSTS")
	fs.StringVar(&p.vaultPathPrefix, "vault-path-prefix", "", "Vault path every tls: {vault: PATH} must lie inside")
	withVariable(fs, "vault-path-prefix", "VAULT_PATH_PREFIX")
	fs.StringVar(&p.maxCPU, "max-cpu-limit", "", "the most CPU a service's limit or request may be, a quantity (4, 4000m; the variable also takes millicores as a plain number); default: no cap")
	withVariable(fs, "max-cpu-limit", "LIMITS_MAX_CPU")
	fs.StringVar(&p.maxMemory, "max-memory-limit", "", "the most memory a service's limit or request may be, a quantity (8Gi, 8192Mi; the variable also takes MiB as a plain number); default: no cap")
	withVariable(fs, "max-memory-limit", "LIMITS_MAX_MEMORY")
	fs.StringVar(&p.maxHPAReplicas, "max-hpa-replicas", "", "the most replicas an hpa's max_replicas may be; default: no cap")
	withVariable(fs, "max-hpa-replicas", "HPA_MAX_REPLICAS")
}

// fromEnv reads what the policy takes from the environment besides its
// flags' variables (which applyVariables gives the flags).
func (p *policyFlags) fromEnv(getenv func(string) string) {
	p.vaultMount = getenv("VAULT_KV_MOUNT")
}

// policy returns the settings as a manifest.Policy; malformed ones are an
// error naming the flag, or the variable (from) its value came from. The
// operator's own Secrets are serve's to add.
func (p *policyFlags) policy(from sources) (manifest.Policy, error) {
	pol := manifest.Policy{
		AllowedSecrets:  splitList(p.allowedSecrets),
		AllowedHosts:    splitList(p.allowedHosts),
		VaultPathPrefix: p.vaultPathPrefix,
		// Paths are compared relative to the mount the operator reads.
		VaultMount: cmp.Or(p.vaultMount, vault.DefaultMount),
	}
	caps, capsErr := p.caps(from)
	pol.Caps = caps
	if err := errors.Join(pol.Validate(), capsErr); err != nil {
		return manifest.Policy{}, err
	}
	return pol, nil
}

// caps parses the caps. The flags take Kubernetes quantities; their
// variables, the original operator's, also take its plain numbers:
// millicores for LIMITS_MAX_CPU, MiB for LIMITS_MAX_MEMORY.
func (p *policyFlags) caps(from sources) (manifest.Caps, error) {
	var c manifest.Caps
	var errs []error
	for _, q := range []struct {
		flag, value, unit, example string
		scale                      func(int64) resource.Quantity
		into                       *resource.Quantity
		setting                    *string
	}{
		{"max-cpu-limit", p.maxCPU, "millicores", "4, 4000m", func(n int64) resource.Quantity {
			return *resource.NewMilliQuantity(n, resource.DecimalSI)
		}, &c.CPU, &c.CPUFrom},
		{"max-memory-limit", p.maxMemory, "MiB", "8Gi, 8192Mi", func(n int64) resource.Quantity {
			return *resource.NewQuantity(n<<20, resource.BinarySI)
		}, &c.Memory, &c.MemoryFrom},
	} {
		if q.value == "" {
			continue
		}
		_, byVariable := from[q.flag]
		v, err := capQuantity(q.value, byVariable, q.scale)
		if err != nil {
			want := "a quantity (" + q.example + ")"
			if byVariable {
				want = q.unit + " as a plain number, or " + want
			}
			errs = append(errs, fmt.Errorf("%s: %v: want %s, above zero", from.setting(q.flag, q.value), err, want))
			continue
		}
		*q.into, *q.setting = v, from.setting(q.flag, q.value)
	}
	if p.maxHPAReplicas != "" {
		n, err := strconv.ParseInt(strings.TrimSpace(p.maxHPAReplicas), 10, 32)
		if err != nil || n < 1 {
			errs = append(errs, fmt.Errorf("%s: want a whole number of replicas, 1 or more", from.setting("max-hpa-replicas", p.maxHPAReplicas)))
		} else {
			c.HPAReplicas, c.HPAReplicasFrom = int32(n), from.setting("max-hpa-replicas", p.maxHPAReplicas)
		}
	}
	return c, errors.Join(errs...)
}

// capQuantity reads a cap: a quantity above zero, or, from a variable of
// the original operator, a plain number in its unit (scale).
func capQuantity(s string, byVariable bool, scale func(int64) resource.Quantity) (resource.Quantity, error) {
	s = strings.TrimSpace(s)
	if n, err := strconv.ParseInt(s, 10, 64); byVariable && err == nil {
		if n < 1 || n > 1<<40 {
			return resource.Quantity{}, errors.New("out of range")
		}
		return scale(n), nil
	}
	q, err := resource.ParseQuantity(s)
	if err != nil || strings.IndexAny(s, "0123456789") < 0 {
		return resource.Quantity{}, errors.New("not a quantity")
	}
	if q.Sign() <= 0 {
		return resource.Quantity{}, errors.New("not above zero")
	}
	return q, nil
}

// checkDefaults refuses default limits and requests above the caps: every
// service that sets none would get more than the installer allows.
func checkDefaults(opts render.Options, pol manifest.Policy, from sources) error {
	var errs []error
	for _, d := range []struct {
		flag, value string
		most        resource.Quantity
		cap         string
	}{
		{"default-cpu-limit", opts.DefaultLimits["cpu"], pol.Caps.CPU, pol.Caps.CPUFrom},
		{"default-cpu-request", opts.DefaultRequests["cpu"], pol.Caps.CPU, pol.Caps.CPUFrom},
		{"default-memory-limit", opts.DefaultLimits["memory"], pol.Caps.Memory, pol.Caps.MemoryFrom},
		{"default-memory-request", opts.DefaultRequests["memory"], pol.Caps.Memory, pol.Caps.MemoryFrom},
	} {
		q, err := resource.ParseQuantity(d.value)
		if d.value != "" && err == nil && !d.most.IsZero() && q.Cmp(d.most) > 0 {
			errs = append(errs, fmt.Errorf("%s is above %s: services that set none would get more than the installer allows", from.setting(d.flag, d.value), d.cap))
		}
	}
	return errors.Join(errs...)
}
