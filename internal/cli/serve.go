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
	"github.com/envop/envop/internal/vault"
)

// serveFlags are the flags of `envop serve`; each string flag also reads
// the environment variable named in its help (the original operator's
// names, so its deployment files keep working).
type serveFlags struct {
	opts        operator.Options
	oidcGroups  string
	proxies     string
	logLevel    string
	pullSecrets string
	storage     []string
	gitKeyFile  string
	policy      policyFlags
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
	fs.StringVar(&o.Kubeconfig, "kubeconfig", env("KUBECONFIG", ""), "kubeconfig file (in-cluster config when absent) [KUBECONFIG]")
	fs.StringVar(&o.Namespace, "namespace", env("NAMESPACE", ""), "namespace of the environment [NAMESPACE]")
	fs.StringVar(&o.Environment, "environment", env("ENVIRONMENT_NAME", ""), "environment name in the file [ENVIRONMENT_NAME]")
	fs.StringVar(&o.GitRepo, "git-repo", env("GIT_REMOTE_REPOSITORY", ""), "repository: https, ssh or a local path [GIT_REMOTE_REPOSITORY]")
	fs.StringVar(&o.Git.Branch, "git-branch", env("GIT_BRANCH", ""), "branch to follow (default: the remote's HEAD) [GIT_BRANCH]")
	fs.StringVar(&o.File, "file", env("BITESIZE_FILE", manifest.DefaultFile), "manifest path in the repository [BITESIZE_FILE]")
	fs.StringVar(&o.Listen, "listen", ":8080", "HTTP listen address")
	fs.StringVar(&o.MetricsListen, "metrics-listen", env("METRICS_LISTEN", ""), "serve /metrics in plain HTTP on this address only, not on --listen [METRICS_LISTEN]")
	fs.StringVar(&o.AuthTokenFile, "auth-token-file", env("AUTH_TOKEN_FILE", ""), "static API tokens, a line per token: TOKEN [NAME [ROLE [SERVICES]]] [AUTH_TOKEN_FILE]")
	fs.StringVar(&f.proxies, "trusted-proxies", env("TRUSTED_PROXIES", ""), "CIDRs of the proxies (an ingress) whose X-Forwarded-For names the client, comma-separated [TRUSTED_PROXIES]")
	fs.DurationVar(&o.PollInterval, "poll-interval", 30*time.Second, "how often to poll the repository (jittered)")
	fs.DurationVar(&o.ResyncInterval, "resync-interval", 10*time.Minute, "how often to re-apply the last revision to correct drift")
	fs.StringVar(&o.WebhookSecretFile, "webhook-secret-file", env("WEBHOOK_SECRET_FILE", ""), "file holding the webhook signing secret [WEBHOOK_SECRET_FILE]")
	fs.StringVar(&o.TLSCertFile, "tls-cert-file", "", "serve HTTPS with this certificate (read again when it changes)")
	fs.StringVar(&o.TLSKeyFile, "tls-key-file", "", "key of --tls-cert-file")
	fs.StringVar(&o.Render.Registry, "registry", env("DOCKER_REGISTRY", ""), "image registry prefix [DOCKER_REGISTRY]")
	fs.StringVar(&f.pullSecrets, "pull-secrets", env("DOCKER_PULL_SECRETS", ""), "image pull secrets, comma-separated [DOCKER_PULL_SECRETS]")
	fs.StringVar(&o.Render.Project, "project", env("PROJECT", ""), "image project prefix [PROJECT]")
	fs.StringVar(&o.Render.IngressClass, "ingress-class", env("INGRESS_CLASS", ""), "default ingress class [INGRESS_CLASS]")
	fs.StringVar(&o.Render.OIDCGroupsPrefix, "oidc-groups-prefix", env("OIDC_GROUPS_PREFIX", ""), "the API server's --oidc-groups-prefix, put before the groups of access entries in RoleBindings [OIDC_GROUPS_PREFIX]")
	fs.StringArrayVar(&f.storage, "storage-class", nil, "volume type to storage class, TYPE=CLASS (repeatable)")
	fs.StringVar(&o.OIDCIssuerURL, "oidc-issuer-url", env("OIDC_ISSUER_URL", ""), "OIDC issuer for API tokens [OIDC_ISSUER_URL]")
	fs.StringVar(&o.OIDCClientID, "oidc-client-id", env("OIDC_CLIENT_ID", ""), "OIDC audience [OIDC_CLIENT_ID]")
	fs.StringVar(&f.oidcGroups, "oidc-allowed-groups", env("OIDC_ALLOWED_GROUPS", ""), "OIDC groups allowed, comma-separated; GROUP=SERVICE+SERVICE limits a group to those services [OIDC_ALLOWED_GROUPS]")
	fs.StringVar(&f.logLevel, "log-level", env("LOG_LEVEL", "info"), "debug, info, warn or error [LOG_LEVEL]")
	fs.BoolVar(&o.PruneClaims, "prune-claims", false, "let pruning delete PersistentVolumeClaims the file no longer lists")
	fs.BoolVar(&o.LeaderElect, "leader-elect", false, "share a Lease with other replicas: one works, the others wait")
	fs.BoolVar(&o.AllowEmpty, "allow-empty", false, "let a revision listing no services prune every managed object")
	fs.StringVar(&o.Git.CAFile, "git-ca-file", env("GIT_CA_FILE", ""), "extra CA bundle for an https repository [GIT_CA_FILE]")
	fs.BoolVar(&o.Git.InsecureSkipTLSVerify, "git-insecure-skip-tls-verify", false, "do not verify the https repository's certificate")
	fs.BoolVar(&o.Git.InsecureIgnoreHostKey, "git-insecure-ignore-host-key", false, "do not verify the ssh repository's host key")
	fs.StringVar(&f.gitKeyFile, "git-private-key-file", "", "ssh private key file (instead of GIT_PRIVATE_KEY)")
	f.policy.bind(fs)
}

// complete fills what flags cannot: credentials from the environment, lists,
// the logger.
func (f *serveFlags) complete(_ *pflag.FlagSet, streams Streams) error {
	o := &f.opts
	level, err := parseLevel(f.logLevel)
	if err != nil {
		return err
	}
	o.Log = slog.New(slog.NewJSONHandler(streams.Err, &slog.HandlerOptions{Level: level}))
	o.Git.Username, o.Git.Token = os.Getenv("GIT_USER"), os.Getenv("GIT_TOKEN")
	o.Git.PrivateKey = []byte(os.Getenv("GIT_PRIVATE_KEY"))
	if f.gitKeyFile != "" {
		if o.Git.PrivateKey, err = os.ReadFile(f.gitKeyFile); err != nil {
			return fmt.Errorf("read --git-private-key-file: %w", err)
		}
	}
	o.Git.KnownHosts = []byte(os.Getenv("GIT_KNOWN_HOSTS"))
	o.Git.PrivateKeyPassphrase = os.Getenv("GIT_PRIVATE_KEY_PASSPHRASE")
	o.Git.Logger = o.Log
	if o.Vault, err = vault.OptionsFromEnv(os.Getenv); err != nil {
		return err
	}
	if o.Policy, err = f.policy.policy(); err != nil {
		return err
	}
	o.Render.PullSecrets = splitList(f.pullSecrets)
	if o.OIDCAllowedGroups, err = auth.ParseGroupRules(f.oidcGroups); err != nil {
		return fmt.Errorf("--oidc-allowed-groups: %w", err)
	}
	if o.TrustedProxies, err = auth.ParseProxies(f.proxies); err != nil {
		return fmt.Errorf("--trusted-proxies: %w", err)
	}
	o.Render.StorageClasses = map[string]string{}
	for _, kv := range f.storage {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" || v == "" {
			return fmt.Errorf("--storage-class %q: want TYPE=CLASS", kv)
		}
		o.Render.StorageClasses[k] = v
	}
	return nil
}

func env(name, def string) string {
	if v, ok := os.LookupEnv(name); ok && v != "" {
		return v
	}
	return def
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.ToLower(s))); err != nil {
		return l, fmt.Errorf("--log-level %q: want debug, info, warn or error", s)
	}
	return l, nil
}
