package client

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/envop/envop/internal/apitypes"
	"github.com/envop/envop/internal/version"
)

// Defaults and bounds.
const (
	DefaultTimeout = 30 * time.Second
	dialTimeout    = 10 * time.Second
	maxCAFile      = 1 << 20
	maxResponse    = 8 << 20
	maxErrorBody   = 64 << 10
)

// Client calls one operator's API. It is safe for concurrent use.
type Client struct {
	base      *url.URL
	endpoint  string // base without user information, for errors
	token     string
	userAgent string
	timeout   time.Duration
	http      *http.Client
}

type options struct {
	caFile    string
	insecure  bool
	timeout   time.Duration
	userAgent string
	transport http.RoundTripper
}

// Option configures New.
type Option func(*options)

// WithCAFile trusts the PEM certificates of path in addition to the
// system's roots.
func WithCAFile(path string) Option { return func(o *options) { o.caFile = path } }

// WithInsecureSkipVerify turns off TLS certificate verification. Only for
// when the user explicitly asks for it.
func WithInsecureSkipVerify(skip bool) Option { return func(o *options) { o.insecure = skip } }

// WithTimeout bounds each request (default 30s); a long poll gets its wait
// on top.
func WithTimeout(d time.Duration) Option { return func(o *options) { o.timeout = d } }

// WithUserAgent replaces the default User-Agent, envop/VERSION.
func WithUserAgent(ua string) Option { return func(o *options) { o.userAgent = ua } }

// WithTransport replaces the HTTP transport (tests); TLS options are then
// ignored.
func WithTransport(rt http.RoundTripper) Option { return func(o *options) { o.transport = rt } }

// New returns a client of the API at endpoint (http or https URL) that
// sends token as a bearer token.
func New(endpoint, token string, opts ...Option) (*Client, error) {
	o := options{timeout: DefaultTimeout, userAgent: DefaultUserAgent()}
	for _, opt := range opts {
		opt(&o)
	}
	base, err := ParseEndpoint(endpoint)
	if err != nil {
		return nil, err
	}
	rt := o.transport
	if rt == nil {
		if rt, err = newTransport(o); err != nil {
			return nil, err
		}
	}
	shown := *base
	shown.User = nil
	return &Client{
		base: base, endpoint: shown.String(), token: strings.TrimSpace(token),
		userAgent: o.userAgent, timeout: o.timeout,
		http: &http.Client{Transport: rt},
	}, nil
}

// DefaultUserAgent is envop/VERSION.
func DefaultUserAgent() string {
	v := version.Get().Version
	if v == "" {
		v = "dev"
	}
	return "envop/" + v
}

// ParseEndpoint checks that endpoint is an http or https URL with a host
// and nothing after its path.
func ParseEndpoint(endpoint string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(endpoint))
	if err != nil {
		return nil, fmt.Errorf("endpoint: not a URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("endpoint %q: want an http:// or https:// URL", u.Redacted())
	}
	if u.Host == "" {
		return nil, fmt.Errorf("endpoint %q: no host", u.Redacted())
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("endpoint %q: must not have a query or fragment", u.Redacted())
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	return u, nil
}

func newTransport(o options) (*http.Transport, error) {
	tlsConfig := &tls.Config{MinVersion: tls.VersionTLS12}
	if o.caFile != "" {
		pool, err := caPool(o.caFile)
		if err != nil {
			return nil, err
		}
		tlsConfig.RootCAs = pool
	}
	if o.insecure {
		tlsConfig.InsecureSkipVerify = true //nolint:gosec // only when the user asks for it
	}
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:       tlsConfig,
		TLSHandshakeTimeout:   dialTimeout,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
		ForceAttemptHTTP2:     true,
	}, nil
}

// caPool is the system's roots plus the certificates of file.
func caPool(file string) (*x509.CertPool, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("CA file: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxCAFile+1))
	if err != nil {
		return nil, fmt.Errorf("CA file %s: %w", file, err)
	}
	if len(data) > maxCAFile {
		return nil, fmt.Errorf("CA file %s: larger than %d bytes", file, maxCAFile)
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("CA file %s: no PEM certificate in it", file)
	}
	return pool, nil
}

// Endpoint is the base URL the client calls, without user information.
func (c *Client) Endpoint() string { return c.endpoint }

// do sends a request and decodes a successful JSON answer into out. The
// request is bounded by the client's timeout plus extra.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, body, out any, extra time.Duration) error {
	reqCtx, cancel := context.WithTimeout(ctx, c.timeout+extra)
	defer cancel()
	req, err := c.newRequest(reqCtx, method, path, query, body)
	if err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("%s %s: %w", method, path, context.Cause(ctx))
		}
		return &UnreachableError{Endpoint: c.endpoint, Err: fmt.Errorf("%s %s: %w", method, path, transportCause(err))}
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return apiError(resp, method, path)
	}
	if out == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponse))
		return nil
	}
	dec := json.NewDecoder(io.LimitReader(resp.Body, maxResponse))
	if err := dec.Decode(out); err != nil {
		if ctx.Err() == nil && reqCtx.Err() != nil {
			return &UnreachableError{Endpoint: c.endpoint, Err: fmt.Errorf("%s %s: reading the answer: %w", method, path, reqCtx.Err())}
		}
		return &APIError{Status: resp.StatusCode, Method: method, Path: path,
			Message: fmt.Sprintf("the answer is not the JSON expected: %v", err)}
	}
	return nil
}

func (c *Client) newRequest(ctx context.Context, method, path string, query url.Values, body any) (*http.Request, error) {
	// path arrives escaped: segments such as ids go through url.PathEscape.
	u := *c.base
	raw := c.base.EscapedPath() + path
	unescaped, err := url.PathUnescape(raw)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	u.Path, u.RawPath = unescaped, raw
	u.RawQuery = query.Encode()
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("%s %s: encode body: %w", method, path, err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	return req, nil
}

// transportCause drops the *url.Error wrapper, whose text repeats the URL.
func transportCause(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		if ue.Timeout() {
			return fmt.Errorf("timed out: %w", ue.Err)
		}
		return ue.Err
	}
	return err
}

// apiError reads the {"error", "code"} body of a failed answer.
func apiError(resp *http.Response, method, path string) error {
	data, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	e := &APIError{Status: resp.StatusCode, Method: method, Path: path}
	var body apitypes.Error
	if json.Unmarshal(data, &body) == nil && body.Message != "" {
		e.Message = body.Message
	} else {
		e.Message = firstLine(string(data), 200)
	}
	if ra := resp.Header.Get("Retry-After"); ra != "" && resp.StatusCode == http.StatusTooManyRequests {
		if secs, err := strconv.Atoi(ra); err == nil {
			e.Message += fmt.Sprintf(" (retry after %ds)", secs)
		}
	}
	return e
}

func firstLine(s string, max int) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > max {
		s = s[:max] + "..."
	}
	return s
}
