package cli

import (
	"cmp"

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
	// vaultMount is VAULT_KV_MOUNT, which paths are relative to.
	vaultMount string
}

func (p *policyFlags) bind(fs *pflag.FlagSet) {
	fs.StringVar(&p.allowedSecrets, "allowed-secrets", "", "Secrets the file may reference, comma-separated path.Match patterns (default: any but the operator's)")
	withVariable(fs, "allowed-secrets", "ALLOWED_SECRETS")
	fs.StringVar(&p.allowedHosts, "allowed-hosts", "", "Ingress host suffixes the file may use, comma-separated: example.com (and its subdomains), .example.com (subdomains only)")
	withVariable(fs, "allowed-hosts", "ALLOWED_HOSTS")
	fs.StringVar(&p.vaultPathPrefix, "vault-path-prefix", "", "Vault path every tls: {vault: PATH} must lie inside")
	withVariable(fs, "vault-path-prefix", "VAULT_PATH_PREFIX")
}

// fromEnv reads what the policy takes from the environment besides its
// flags' variables (which applyVariables gives the flags).
func (p *policyFlags) fromEnv(getenv func(string) string) {
	p.vaultMount = getenv("VAULT_KV_MOUNT")
}

// policy returns the settings as a manifest.Policy; malformed ones are an
// error naming the flag. The operator's own Secrets are serve's to add.
func (p *policyFlags) policy() (manifest.Policy, error) {
	pol := manifest.Policy{
		AllowedSecrets:  splitList(p.allowedSecrets),
		AllowedHosts:    splitList(p.allowedHosts),
		VaultPathPrefix: p.vaultPathPrefix,
		// Paths are compared relative to the mount the operator reads.
		VaultMount: cmp.Or(p.vaultMount, vault.DefaultMount),
	}
	if err := pol.Validate(); err != nil {
		return manifest.Policy{}, err
	}
	return pol, nil
}
