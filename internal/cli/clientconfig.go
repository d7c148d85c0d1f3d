package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Environment variables of the client commands.
const (
	envEndpoint = "ENVOP_ENDPOINT"
	envToken    = "ENVOP_TOKEN"
	envConfig   = "ENVOP_CONFIG"
)

// Bounds on what the client reads from files.
const (
	maxConfigFile = 1 << 20
	maxTokenFile  = 64 << 10
)

// clientConfig is the client's config file: where each environment's
// operator answers and where its token comes from.
//
//	environments:
//	  staging: {endpoint: https://deploy.staging.example.com, token_env: STAGING_TOKEN}
type clientConfig struct {
	Environments map[string]envEntry

	path  string   // the file read
	order []string // environment names in file order
}

// envEntry is one environment of the config file. Exactly one of Token,
// TokenEnv and TokenFile says where the token comes from.
type envEntry struct {
	Endpoint           string // endpoint
	Token              string // token
	TokenEnv           string // token_env
	TokenFile          string // token_file
	CAFile             string // ca_file
	InsecureSkipVerify bool   // insecure_skip_verify
}

// defaultConfigPath is $ENVOP_CONFIG, else
// ${XDG_CONFIG_HOME:-~/.config}/envop/config.yaml.
func defaultConfigPath() (string, error) {
	if p := os.Getenv(envConfig); p != "" {
		return p, nil
	}
	if dir := os.Getenv("XDG_CONFIG_HOME"); dir != "" && filepath.IsAbs(dir) {
		return filepath.Join(dir, "envop", "config.yaml"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("no config file: set --config or %s (%v)", envConfig, err)
	}
	return filepath.Join(home, ".config", "envop", "config.yaml"), nil
}

// loadClientConfig reads and checks a config file strictly: unknown keys,
// duplicate keys, wrong types and invalid entries are errors, all reported
// at once (see parseClientConfig).
func loadClientConfig(path string) (*clientConfig, error) {
	data, err := readBounded(path, maxConfigFile)
	if err != nil {
		return nil, fmt.Errorf("config file: %w", err)
	}
	cfg, err := parseClientConfig(path, data)
	if err != nil {
		return nil, err
	}
	cfg.path = path
	dir := filepath.Dir(path)
	for name, e := range cfg.Environments {
		// Files named relative to the config file are found next to it.
		e.TokenFile = relativeTo(dir, e.TokenFile)
		e.CAFile = relativeTo(dir, e.CAFile)
		cfg.Environments[name] = e
	}
	return cfg, nil
}

// names selects environments: each of want, in the order given, or every
// environment in file order for "all" when allowAll.
func (c *clientConfig) names(want []string, allowAll bool) ([]string, error) {
	if len(want) == 1 && want[0] == "all" {
		if !allowAll {
			return nil, errors.New(`--env all is not allowed here: name the environments, in order`)
		}
		return c.order, nil
	}
	var out []string
	for _, n := range want {
		n = strings.TrimSpace(n)
		if n == "all" {
			return nil, errors.New(`--env all cannot be combined with other names`)
		}
		if _, ok := c.Environments[n]; !ok {
			return nil, fmt.Errorf("environment %q is not in %s (it lists %s)", n, c.path, strings.Join(c.order, ", "))
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out, nil
}

// token reads an environment's token from where the entry says; it is
// called only for the environments a command uses.
func (e envEntry) token(name string) (string, error) {
	var tok string
	switch {
	case e.TokenEnv != "":
		tok = os.Getenv(e.TokenEnv)
		if strings.TrimSpace(tok) == "" {
			return "", fmt.Errorf("environment %q: token_env %s is not set", name, e.TokenEnv)
		}
	case e.TokenFile != "":
		data, err := readBounded(e.TokenFile, maxTokenFile)
		if err != nil {
			return "", fmt.Errorf("environment %q: token_file: %w", name, err)
		}
		tok = string(data)
	default:
		tok = e.Token
	}
	tok = strings.TrimSpace(tok)
	if tok == "" {
		return "", fmt.Errorf("environment %q: the token is empty", name)
	}
	return tok, nil
}

// readBounded reads a file of at most max bytes.
func readBounded(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, max)
	}
	return data, nil
}

func relativeTo(dir, path string) string {
	if path == "" || filepath.IsAbs(path) {
		return path
	}
	if strings.HasPrefix(path, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, path[2:])
		}
	}
	return filepath.Join(dir, path)
}
