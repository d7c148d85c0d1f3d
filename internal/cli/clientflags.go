package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"sigs.k8s.io/yaml"

	"github.com/envop/envop/internal/client"
)

// exitInterrupted is the shell's code for a command stopped by SIGINT.
const exitInterrupted = 130

// clientFlags are the flags every client command shares: where the API is
// and how to talk to it, and the output format.
type clientFlags struct {
	endpoint, token, tokenFile string
	caFile                     string
	insecure                   bool
	envs                       []string
	config                     string
	requestTimeout             time.Duration
	output                     string
}

func (f *clientFlags) bind(fs *pflag.FlagSet) {
	fs.StringVar(&f.endpoint, "endpoint", "", "operator API URL [ENVOP_ENDPOINT]")
	fs.StringVar(&f.token, "token", "", "API bearer token (prefer ENVOP_TOKEN or --token-file: flags show in process lists) [ENVOP_TOKEN]")
	fs.StringVar(&f.tokenFile, "token-file", "", "file holding the API token")
	fs.StringVar(&f.caFile, "ca-file", "", "PEM CA bundle trusted for --endpoint, in addition to the system roots")
	fs.BoolVar(&f.insecure, "insecure-skip-verify", false, "do not verify --endpoint's TLS certificate (unsafe)")
	fs.StringSliceVar(&f.envs, "env", nil, "environments of the config file, comma-separated, acted on in order")
	fs.StringVar(&f.config, "config", "", "client config file (default $ENVOP_CONFIG or ~/.config/envop/config.yaml)")
	fs.DurationVar(&f.requestTimeout, "request-timeout", client.DefaultTimeout, "time limit of each API request")
	fs.StringVarP(&f.output, "output", "o", "", "output format: json or yaml (default: text for people)")
}

// target is one operator the command talks to.
type target struct {
	// Name is the environment's name in the config file, or the
	// endpoint's host when --endpoint is used.
	Name   string
	Client *client.Client
	// direct is set for --endpoint, whose Name is only a host.
	direct bool
}

// targets resolves the flags into the operators to call, in order. Every
// problem is a usage error.
func (f *clientFlags) targets(fs *pflag.FlagSet, allowAll bool) ([]target, error) {
	if err := checkOutput(f.output); err != nil {
		return nil, err
	}
	if f.requestTimeout <= 0 {
		return nil, exitf(ExitUsage, "--request-timeout must be positive")
	}
	var ts []target
	var err error
	if len(f.envs) > 0 {
		ts, err = f.configTargets(fs, allowAll)
	} else {
		ts, err = f.directTarget()
	}
	if err != nil {
		return nil, &ExitError{Code: ExitUsage, Err: err}
	}
	return ts, nil
}

func (f *clientFlags) configTargets(fs *pflag.FlagSet, allowAll bool) ([]target, error) {
	for _, name := range []string{"endpoint", "token", "token-file", "ca-file", "insecure-skip-verify"} {
		if fs.Changed(name) {
			return nil, fmt.Errorf("--%s and --env exclude each other: the config file says how to reach each environment", name)
		}
	}
	path := f.config
	if path == "" {
		var err error
		if path, err = defaultConfigPath(); err != nil {
			return nil, err
		}
	}
	cfg, err := loadClientConfig(path)
	if err != nil {
		return nil, err
	}
	names, err := cfg.names(f.envs, allowAll)
	if err != nil {
		return nil, err
	}
	var ts []target
	for _, name := range names {
		e := cfg.Environments[name]
		tok, err := e.token(name)
		if err != nil {
			return nil, err
		}
		c, err := client.New(e.Endpoint, tok, client.WithCAFile(e.CAFile),
			client.WithInsecureSkipVerify(e.InsecureSkipVerify), client.WithTimeout(f.requestTimeout))
		if err != nil {
			return nil, fmt.Errorf("environment %q: %w", name, err)
		}
		ts = append(ts, target{Name: name, Client: c})
	}
	return ts, nil
}

func (f *clientFlags) directTarget() ([]target, error) {
	endpoint := f.endpoint
	if endpoint == "" {
		endpoint = os.Getenv(envEndpoint)
	}
	if endpoint == "" {
		return nil, fmt.Errorf("no operator to talk to: set --endpoint (or %s), or --env NAME with a config file", envEndpoint)
	}
	tok, err := f.directToken()
	if err != nil {
		return nil, err
	}
	c, err := client.New(endpoint, tok, client.WithCAFile(f.caFile),
		client.WithInsecureSkipVerify(f.insecure), client.WithTimeout(f.requestTimeout))
	if err != nil {
		return nil, err
	}
	name := c.Endpoint()
	if u, err := url.Parse(name); err == nil {
		name = u.Host
	}
	return []target{{Name: name, Client: c, direct: true}}, nil
}

func (f *clientFlags) directToken() (string, error) {
	if f.token != "" && f.tokenFile != "" {
		return "", errors.New("--token and --token-file exclude each other")
	}
	tok := f.token
	if f.tokenFile != "" {
		data, err := readBounded(f.tokenFile, maxTokenFile)
		if err != nil {
			return "", fmt.Errorf("--token-file: %w", err)
		}
		tok = string(data)
	}
	if tok == "" {
		tok = os.Getenv(envToken)
	}
	if strings.TrimSpace(tok) == "" {
		return "", fmt.Errorf("no API token: set %s, --token-file or --token", envToken)
	}
	return tok, nil
}

// checkEndpoint validates an endpoint URL as the client would.
func checkEndpoint(endpoint string) error {
	_, err := client.ParseEndpoint(endpoint)
	return err
}

func checkOutput(output string) error {
	switch output {
	case "", "json", "yaml":
		return nil
	}
	return exitf(ExitUsage, "unknown output format %q (want json or yaml)", output)
}

// exitCode maps an API call's error to the exit code docs/cli.md fixes:
// refused (4xx) is a usage error, unreachable or a server error is 3.
func exitCode(err error) int {
	var exit *ExitError
	var apiErr *client.APIError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &exit):
		return exit.Code
	case client.IsUnreachable(err):
		return ExitUnreachable
	case errors.As(err, &apiErr):
		if apiErr.Status >= 400 && apiErr.Status < 500 {
			return ExitUsage
		}
		return ExitUnreachable
	case errors.Is(err, context.Canceled):
		return exitInterrupted
	}
	return ExitFailed
}

// apiFailure wraps the error of a call to t in an ExitError with its code.
func apiFailure(t target, err error) error {
	return &ExitError{Code: exitCode(err), Err: fmt.Errorf("%s: %w", t.Name, err)}
}

// single says whether ts is one environment named by --endpoint or by a
// lone --env NAME: machine output is then the operator's answer itself, as
// the API gives it, rather than a list of environments.
func (f *clientFlags) single(ts []target) bool {
	return len(ts) == 1 && (ts[0].direct || (len(f.envs) == 1 && f.envs[0] != "all"))
}

// writeResults writes a client command's machine output: with one
// environment, answer's view of its result (nothing when answer returns
// nil: the command's error says why); else every environment's result.
func writeResults[R any](w io.Writer, format string, one bool, results []R, answer func(R) any) error {
	if !one {
		return writeMachine(w, format, results)
	}
	if len(results) == 0 {
		return nil
	}
	v := answer(results[0])
	if v == nil {
		return nil
	}
	return writeMachine(w, format, v)
}

// writeMachine writes v as JSON or YAML.
func writeMachine(w io.Writer, format string, v any) error {
	var data []byte
	var err error
	if format == "yaml" {
		data, err = yaml.Marshal(v)
	} else {
		data, err = json.MarshalIndent(v, "", "  ")
		data = append(data, '\n')
	}
	if err != nil {
		return fmt.Errorf("encode output: %w", err)
	}
	if _, err := w.Write(data); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	return nil
}

// isTerminal says whether w is an interactive terminal: progress is then
// redrawn in place, else written as plain lines for CI logs.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok || os.Getenv("TERM") == "dumb" {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
