package cli

import (
	"github.com/spf13/pflag"

	"github.com/envop/envop/internal/manifest"
	"github.com/envop/envop/internal/vault"
)

// policyFlags are the installer's limits on what an environment file may
// reference (manifest.Policy). serve, validate, render and diff bind the
// same flags and variables, so the CLI refuses what the operator refuses.
type policyFlags struct {
	allowedSecrets  string
	allowedHosts    string
	vaultPathPrefix string
}

func (p *policyFlags) bind(fs *pflag.FlagSet) {
	fs.StringVar(&p.allowedSecrets, "allowed-secrets", env("ALLOWED_SECRETS", ""), "Secrets the file may reference, comma-separated path.Match patterns (default: any but the operator's) [ALLOWED_SECRETS]")
	fs.StringVar(&p.allowedHosts, "allowed-hosts", env("ALLOWED_HOSTS", ""), "Ingress host suffixes the file may use, comma-separated: example.com (and its subdomains), .example.com (subdomains only) [ALLOWED_HOSTS]")
	fs.StringVar(&p.vaultPathPrefix, "vault-path-prefix", env("VAULT_PATH_PREFIX", ""), "Vault path every tls: {vault: PATH} must lie inside [VAULT_PATH_PREFIX]")
}

// policy returns the settings as a manifest.Policy; malformed ones are an
// error naming the flag. The operator's own Secrets are serve's to add.
func (p *policyFlags) policy() (manifest.Policy, error) {
	pol := manifest.Policy{
		AllowedSecrets:  splitList(p.allowedSecrets),
		AllowedHosts:    splitList(p.allowedHosts),
		VaultPathPrefix: p.vaultPathPrefix,
		// Paths are compared relative to the mount the operator reads.
		VaultMount: env("VAULT_KV_MOUNT", vault.DefaultMount),
	}
	if err := pol.Validate(); err != nil {
		return manifest.Policy{}, err
	}
	return pol, nil
}
