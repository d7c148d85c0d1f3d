package cli

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/klog/v2"

	"github.com/envop/envop/internal/auth"
	"github.com/envop/envop/internal/manifest"
	"github.com/envop/envop/internal/operator"
	"github.com/envop/envop/internal/source"
	"github.com/envop/envop/internal/vault"
)

// serveFlags are the flags of `envop serve`. Most fall back to an
// environment variable, named in their help: the original operator's
// names, so its deployment files keep working.
type serveFlags struct {
	opts       operator.Options
	render     renderSettings
	oidcGroups string
	proxies    string
	logLevel   string
	gitKeyFile string
	// gistsTokenFile and gistsKeyFile hold the gists repository's secrets,
	// which are never flag values (a process list shows those).
	gistsTokenFile, gistsKeyFile string
	policy                       policyFlags
}

func newServeCmd(streams Streams) *cobra.Command {
	f := &serveFlags{}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the operator for one environment in its namespace",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := f.complete(cmd.Flags(), streams); err != nil {
				return &ExitError{Code: ExitUsage, Err: err}
			}
			if err := f.opts.Validate(); err != nil {
				return &ExitError{Code: ExitUsage, Err: err}
			}
			// client-go logs through klog: into our JSON log. Set once, before
			// anything runs (klog's logger is process-wide and unguarded).
			klog.SetSlogLogger(f.opts.Log)
			if err := operator.Run(cmd.Context(), f.opts); errors.Is(err, operator.ErrConfig) {
				return &ExitError{Code: ExitUsage, Err: err}
			} else if err != nil {
				return &ExitError{Code: ExitFailed, Err: err}
			}
			return nil
		},
	}
	f.bind(cmd.Flags())
	return cmd
}

func (f *serveFlags) bind(fs *pflag.FlagSet) {
	o := &f.opts
	str := func(p *string, name, def, usage, variable string) {
		fs.StringVar(p, name, def, usage)
		if variable != "" {
			withVariable(fs, name, variable)
		}
	}
	str(&o.Kubeconfig, "kubeconfig", "", "kubeconfig file (in-cluster config when absent)", "KUBECONFIG")
	str(&o.Namespace, "namespace", "", "namespace of the environment", "NAMESPACE")
	str(&o.Environment, "environment", "", "environment name in the file", "ENVIRONMENT_NAME")
	str(&o.GitRepo, "git-repo", "", "repository: https, ssh or a local path", "GIT_REMOTE_REPOSITORY")
	str(&o.Git.Branch, "git-branch", "", "branch to follow (default: the remote's HEAD)", "GIT_BRANCH")
	str(&o.File, "file", manifest.DefaultFile, "manifest path in the repository", "BITESIZE_FILE")
	str(&o.Listen, "listen", ":8080", "HTTP listen address", "")
	str(&o.MetricsListen, "metrics-listen", "", "serve /metrics in plain HTTP on this address only, not on --listen", "METRICS_LISTEN")
	str(&o.AuthTokenFile, "auth-token-file", "", "static API tokens, a line per token: TOKEN [NAME [ROLE [SERVICES]]]", "AUTH_TOKEN_FILE")
	str(&f.proxies, "trusted-proxies", "", "CIDRs of the proxies (an ingress) whose X-Forwarded-For names the client, comma-separated", "TRUSTED_PROXIES")
	fs.DurationVar(&o.PollInterval, "poll-interval", 30*time.Second, "how often to poll the repository (jittered)")
	fs.DurationVar(&o.GitTimeout, "git-timeout", source.DefaultFetchTimeout, "how long one fetch of the repository may take before it fails")
	fs.DurationVar(&o.ResyncInterval, "resync-interval", 10*time.Minute, "how often to re-apply the last revision to correct drift")
	str(&o.WebhookSecretFile, "webhook-secret-file", "", "file holding the webhook signing secret", "WEBHOOK_SECRET_FILE")
	str(&o.TLSCertFile, "tls-cert-file", "", "serve HTTPS with this certificate (read again when it changes)", "")
	str(&o.TLSKeyFile, "tls-key-file", "", "key of --tls-cert-file", "")
	f.render.bind(fs)
	str(&o.OIDCIssuerURL, "oidc-issuer-url", "", "OIDC issuer for API tokens", "OIDC_ISSUER_URL")
	str(&o.OIDCClientID, "oidc-client-id", "", "OIDC audience", "OIDC_CLIENT_ID")
	str(&f.oidcGroups, "oidc-allowed-groups", "", "OIDC groups allowed, comma-separated; GROUP=SERVICE+SERVICE limits a group to those services", "OIDC_ALLOWED_GROUPS")
	str(&f.logLevel, "log-level", "info", "debug, info, warn or error", "LOG_LEVEL")
	fs.BoolVar(&o.PruneClaims, "prune-claims", false, "let pruning delete PersistentVolumeClaims the file no longer lists")
	fs.BoolVar(&o.LeaderElect, "leader-elect", false, "share a Lease with other replicas: one works, the others wait")
	fs.BoolVar(&o.AllowEmpty, "allow-empty", false, "let a revision listing no services prune every managed object")
	fs.BoolVar(&o.PruneAdopted, "prune-adopted", false, "delete what the original Environment Operator made that the file does not render (claims never)")
	str(&o.Git.CAFile, "git-ca-file", "", "extra CA bundle for an https repository", "GIT_CA_FILE")
	fs.BoolVar(&o.Git.InsecureSkipTLSVerify, "git-insecure-skip-tls-verify", false, "do not verify the https repository's certificate")
	fs.BoolVar(&o.Git.InsecureIgnoreHostKey, "git-insecure-ignore-host-key", false, "do not verify the ssh repository's host key")
	str(&f.gitKeyFile, "git-private-key-file", "", "ssh private key file (instead of GIT_PRIVATE_KEY)", "")
	str(&o.GistsCredentials.Username, "gists-user", "", "user name for an https gists repository (gists_repository)", "GISTS_USER")
	str(&f.gistsTokenFile, "gists-token-file", "", "file holding the token of an https gists repository (instead of GISTS_TOKEN)", "")
	str(&f.gistsKeyFile, "gists-private-key-file", "", "ssh private key file for a gists repository (instead of GISTS_PRIVATE_KEY)", "")
	f.policy.bind(fs)
}

// complete fills what parsing does not: the flags' variables, credentials
// from the environment, lists, the logger. Settings are checked here,
// each error naming the flag or the variable of its value.
func (f *serveFlags) complete(fs *pflag.FlagSet, streams Streams) error {
	getenv := streams.getenv
	from, err := applyVariables(fs, getenv)
	if err != nil {
		return err
	}
	o := &f.opts
	level, err := parseLevel(from.name("log-level"), f.logLevel)
	if err != nil {
		return err
	}
	o.Log = slog.New(slog.NewJSONHandler(streams.Err, &slog.HandlerOptions{Level: level}))
	o.Git.Username, o.Git.Token = getenv("GIT_USER"), getenv("GIT_TOKEN")
	o.Git.PrivateKey = []byte(getenv("GIT_PRIVATE_KEY"))
	if f.gitKeyFile != "" {
		if o.Git.PrivateKey, err = os.ReadFile(f.gitKeyFile); err != nil {
			return fmt.Errorf("read --git-private-key-file: %w", err)
		}
	}
	o.Git.KnownHosts = []byte(getenv("GIT_KNOWN_HOSTS"))
	o.Git.PrivateKeyPassphrase = getenv("GIT_PRIVATE_KEY_PASSPHRASE")
	o.Git.Logger = o.Log
	if err := f.gistsCredentials(getenv); err != nil {
		return err
	}
	if o.Vault, err = vault.OptionsFromEnv(getenv); err != nil {
		return err
	}
	f.policy.fromEnv(getenv)
	if o.Policy, err = f.policy.policy(from); err != nil {
		return err
	}
	if o.Render, err = f.render.options(from); err != nil {
		return err
	}
	if err := checkDefaults(o.Render, o.Policy, from); err != nil {
		return err
	}
	if o.OIDCAllowedGroups, err = auth.ParseGroupRules(f.oidcGroups); err != nil {
		return fmt.Errorf("%s: %w", from.name("oidc-allowed-groups"), err)
	}
	if o.TrustedProxies, err = auth.ParseProxies(f.proxies); err != nil {
		return fmt.Errorf("%s: %w", from.name("trusted-proxies"), err)
	}
	return nil
}

// gistsCredentials reads the gists repository's secrets: GISTS_TOKEN and
// GISTS_PRIVATE_KEY (with GISTS_PRIVATE_KEY_PASSPHRASE), or the files the
// flags name instead. GISTS_USER comes with its flag.
func (f *serveFlags) gistsCredentials(getenv func(string) string) error {
	g := &f.opts.GistsCredentials
	g.Token = getenv("GISTS_TOKEN")
	g.PrivateKey = []byte(getenv("GISTS_PRIVATE_KEY"))
	g.PrivateKeyPassphrase = getenv("GISTS_PRIVATE_KEY_PASSPHRASE")
	if f.gistsTokenFile != "" {
		token, err := os.ReadFile(f.gistsTokenFile)
		if err != nil {
			return fmt.Errorf("read --gists-token-file: %w", err)
		}
		g.Token = strings.TrimSpace(string(token))
	}
	if f.gistsKeyFile != "" {
		key, err := os.ReadFile(f.gistsKeyFile)
		if err != nil {
			return fmt.Errorf("read --gists-private-key-file: %w", err)
		}
		g.PrivateKey = key
	}
	return nil
}

// parseLevel reads a log level; from names the flag or variable it came
// from.
func parseLevel(from, s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.ToLower(s))); err != nil {
		return l, fmt.Errorf("%s %q: want debug, info, warn or error", from, s)
	}
	return l, nil
}
