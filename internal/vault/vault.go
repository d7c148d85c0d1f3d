package vault

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-cleanhttp"
	"github.com/hashicorp/vault/api"
)

// Defaults of Options.
const (
	DefaultMount    = "secret"
	DefaultTimeout  = 15 * time.Second
	DefaultCacheTTL = 30 * time.Second
)

// maxTokenFile bounds what is read of a token file.
const maxTokenFile = 64 << 10

// Options configure a Source. OptionsFromEnv reads them from the variables
// the Vault CLI uses.
type Options struct {
	// Address is Vault's URL (VAULT_ADDR), e.g. https://vault.example.com:8200.
	Address string
	// Token authenticates to Vault (VAULT_TOKEN). TokenFile (VAULT_TOKEN_FILE)
	// is read again before each read of Vault, so a token rotated by an agent
	// is picked up; set one of the two.
	Token, TokenFile string
	// CAFile is a PEM bundle of the CAs Vault's certificate is checked
	// against (VAULT_CACERT); the system roots when empty.
	CAFile string
	// Mount is the KV v2 mount the manifest's paths are relative to
	// (VAULT_KV_MOUNT, default "secret").
	Mount string
	// Namespace is the Vault Enterprise / HCP namespace (VAULT_NAMESPACE).
	Namespace string
	// InsecureSkipVerify turns off the check of Vault's certificate
	// (VAULT_SKIP_VERIFY). Only for tests.
	InsecureSkipVerify bool
	Log                *slog.Logger
	// Timeout bounds one read of Vault, retries included (default 15s).
	Timeout time.Duration
	// CacheTTL is how long a read entry is reused, so one resync of many
	// Ingresses sharing a path reads it once (default 30s; negative: never
	// reuse).
	CacheTTL time.Duration
}

// OptionsFromEnv returns the Options given by the environment: VAULT_ADDR,
// VAULT_TOKEN, VAULT_TOKEN_FILE, VAULT_CACERT, VAULT_KV_MOUNT,
// VAULT_NAMESPACE, VAULT_SKIP_VERIFY. getenv is os.Getenv outside tests.
func OptionsFromEnv(getenv func(string) string) (Options, error) {
	o := Options{
		Address: getenv("VAULT_ADDR"), Token: getenv("VAULT_TOKEN"), TokenFile: getenv("VAULT_TOKEN_FILE"),
		CAFile: getenv("VAULT_CACERT"), Mount: getenv("VAULT_KV_MOUNT"), Namespace: getenv("VAULT_NAMESPACE"),
	}
	if v := getenv("VAULT_SKIP_VERIFY"); v != "" {
		skip, err := strconv.ParseBool(v)
		if err != nil {
			return o, fmt.Errorf("VAULT_SKIP_VERIFY=%q: want true or false", v)
		}
		o.InsecureSkipVerify = skip
	}
	return o, nil
}

// Configured reports whether the options name a Vault to read.
func (o Options) Configured() bool { return o.Address != "" }

// Source reads TLS entries from Vault. Its methods are safe for concurrent
// use; a nil *Source is a Vault that is not configured.
type Source struct {
	opts   Options
	client *api.Client
	log    *slog.Logger
	now    func() time.Time

	// fetchMu serialises reads, which set the client's token.
	fetchMu sync.Mutex
	mu      sync.Mutex
	cache   map[string]cached
}

// New returns a Source for opts. It does not contact Vault: a Vault that is
// down is an error of the syncs that need it, not of the operator's start.
func New(opts Options) (*Source, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	cfg := &api.Config{Address: opts.Address, HttpClient: cleanhttp.DefaultPooledClient(), Timeout: opts.Timeout, MaxRetries: 2}
	cfg.HttpClient.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if tr, ok := cfg.HttpClient.Transport.(*http.Transport); ok {
		tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if err := cfg.ConfigureTLS(&api.TLSConfig{CACert: opts.CAFile, Insecure: opts.InsecureSkipVerify}); err != nil {
		return nil, fmt.Errorf("vault: TLS configuration (CA file %q): %w", opts.CAFile, err)
	}
	client, err := api.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("vault: client for %s: %w", opts.Address, err)
	}
	// NewClient takes VAULT_TOKEN and VAULT_NAMESPACE from the environment
	// on its own; the options are the only source of truth here.
	client.ClearToken()
	client.ClearNamespace()
	if opts.Namespace != "" {
		client.SetNamespace(opts.Namespace)
	}
	s := &Source{opts: opts, client: client, log: opts.Log, now: time.Now, cache: map[string]cached{}}
	if _, err := s.token(); err != nil {
		return nil, err
	}
	if opts.InsecureSkipVerify {
		s.log.Warn("vault certificate verification is off", "address", opts.Address)
	}
	return s, nil
}

func (o Options) withDefaults() (Options, error) {
	if o.Address == "" {
		return o, errors.New("vault: no address (set VAULT_ADDR)")
	}
	if !strings.HasPrefix(o.Address, "https://") && !strings.HasPrefix(o.Address, "http://") {
		return o, fmt.Errorf("vault: address %q: want an http(s) URL", o.Address)
	}
	switch {
	case o.Token != "" && o.TokenFile != "":
		return o, errors.New("vault: both a token and a token file are set (VAULT_TOKEN, VAULT_TOKEN_FILE): set one")
	case o.Token == "" && o.TokenFile == "":
		return o, errors.New("vault: no token (set VAULT_TOKEN or VAULT_TOKEN_FILE)")
	}
	o.Mount = strings.Trim(o.Mount, "/")
	if o.Mount == "" {
		o.Mount = DefaultMount
	}
	if err := checkPath(o.Mount); err != nil {
		return o, fmt.Errorf("vault: mount %q: %w", o.Mount, err)
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.CacheTTL == 0 {
		o.CacheTTL = DefaultCacheTTL
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return o, nil
}

// token is the token to send: Options.Token, or the token file's content.
func (s *Source) token() (string, error) {
	if s.opts.TokenFile == "" {
		return s.opts.Token, nil
	}
	f, err := os.Open(s.opts.TokenFile)
	if err != nil {
		return "", fmt.Errorf("vault: read token file: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxTokenFile+1))
	if err != nil {
		return "", fmt.Errorf("vault: read token file %s: %w", s.opts.TokenFile, err)
	}
	if len(data) > maxTokenFile {
		return "", fmt.Errorf("vault: token file %s is larger than %d bytes", s.opts.TokenFile, maxTokenFile)
	}
	tok := string(bytes.TrimSpace(data))
	if tok == "" {
		return "", fmt.Errorf("vault: token file %s is empty", s.opts.TokenFile)
	}
	return tok, nil
}
