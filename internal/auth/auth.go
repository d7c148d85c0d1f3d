package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"
)

// Errors returned by Authenticate. Their messages (and those of the errors
// that wrap them) are safe to send to the client: they never contain a token.
var (
	// ErrUnauthenticated means no usable credential: missing, malformed,
	// unknown, expired or badly signed. The API answers 401.
	ErrUnauthenticated = errors.New("unauthenticated")
	// ErrForbidden means a valid identity that is not allowed in: an OIDC
	// user outside OIDC_ALLOWED_GROUPS and the access rules. The API answers 403.
	ErrForbidden = errors.New("forbidden")
	// ErrRateLimited means too many failed attempts from the client's
	// address. The API answers 429; see RateLimitError for Retry-After.
	ErrRateLimited = errors.New("too many failed authentication attempts")
	// ErrUnavailable means an OIDC token could not be checked because the
	// identity provider's discovery document is not loaded yet (the issuer
	// was unreachable). The API answers 503; the client may retry.
	ErrUnavailable = errors.New("identity provider unavailable")
)

// RateLimitError is returned while a client address is blocked.
// errors.Is(err, ErrRateLimited) holds for it.
type RateLimitError struct {
	RetryAfter time.Duration
}

func (e *RateLimitError) Error() string { return ErrRateLimited.Error() }

// Is reports whether target is ErrRateLimited.
func (e *RateLimitError) Is(target error) bool { return target == ErrRateLimited }

// Method names how a Principal authenticated.
const (
	MethodToken = "token"
	MethodOIDC  = "oidc"
)

// Principal is an authenticated caller.
type Principal struct {
	// Name identifies the caller in the audit trail: the token's name, or
	// the OIDC user's verified email (otherwise issuer#subject).
	Name string
	// Grants are the roles the caller holds and over which services; see
	// Allows.
	Grants []Grant
	Method string // MethodToken or MethodOIDC
	// Subject, Email and Groups are set for OIDC users; Email only when the
	// provider says it is verified.
	Subject string
	Email   string
	Groups  []string
}

// AccessRule mirrors one of the manifest's environment-level `access`
// entries: exactly one of Group or User, the role it grants and over which
// services (the zero Scope: all). User matches an OIDC user's verified email
// (case-insensitively), subject or issuer#subject name.
type AccessRule struct {
	Group string
	User  string
	Role  Role
	Scope Scope
}

// GroupRule is one entry of OIDC_ALLOWED_GROUPS: a group whose members may
// come in, and the services they may act on at most.
type GroupRule struct {
	Group string
	Scope Scope
}

// Options configures an Authenticator. Zero values mean "not configured" or
// the documented default.
type Options struct {
	// TokenFile is AUTH_TOKEN_FILE: a line per token, `TOKEN [NAME [ROLE [SERVICES]]]`,
	// role deploy when absent; blank lines and # comments are ignored.
	TokenFile string
	// TokenFileCheckInterval is how often, at most, the token file is
	// checked for changes (default 2s).
	TokenFileCheckInterval time.Duration

	// OIDCIssuerURL and OIDCClientID enable OIDC ID tokens; the client id is
	// the audience the tokens must carry.
	OIDCIssuerURL, OIDCClientID string
	// OIDCAllowedGroups (OIDC_ALLOWED_GROUPS, see ParseGroupRules): when
	// set, OIDC users must belong to one of them, and act only on the
	// services of their groups' rules. See the package documentation for roles.
	OIDCAllowedGroups []GroupRule
	// GroupsClaim names the ID token claim holding the groups (default "groups").
	GroupsClaim string
	// Access returns the current access rules from the manifest; may be nil.
	// It is called for every OIDC authentication, from many goroutines.
	Access func() []AccessRule
	// HTTPClient fetches the discovery document and keys. Nil means a client
	// with the system roots; a client without a timeout gets one.
	HTTPClient *http.Client

	// TrustedProxies are the proxy addresses whose X-Forwarded-For header is
	// believed when deciding the client address (see ClientAddr). Empty
	// means the header is ignored and the connection's address is used.
	TrustedProxies []netip.Prefix
	// RateLimit tunes the failed-authentication limiter; zero fields take
	// their defaults.
	RateLimit RateLimit

	Log *slog.Logger
	Now func() time.Time
}

// RateLimit tunes the limiter on failed authentications per client address.
type RateLimit struct {
	Failures   int           // failures allowed in Window before blocking (default 10)
	Window     time.Duration // default 1m
	Block      time.Duration // how long a client stays blocked (default 1m)
	MaxClients int           // tracked addresses at most, oldest evicted (default 10000)
}

// Authenticator checks the bearer tokens of API requests.
type Authenticator struct {
	log     *slog.Logger
	now     func() time.Time
	tokens  *tokenStore // nil without a token file
	oidc    *oidcVerifier
	limiter *limiter
	proxies []netip.Prefix
}

// SplitList splits a comma-separated setting such as OIDC_ALLOWED_GROUPS,
// trimming blanks and dropping empty items.
func SplitList(s string) []string {
	var out []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// New reads the token file (an invalid file is an error naming the line) and
// prepares OIDC verification. An unreachable issuer does not fail New.
func New(ctx context.Context, opts Options) (*Authenticator, error) {
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	a := &Authenticator{
		log:     log,
		now:     now,
		limiter: newLimiter(opts.RateLimit),
		proxies: opts.TrustedProxies,
	}
	if opts.TokenFile != "" {
		ts, err := newTokenStore(opts.TokenFile, opts.TokenFileCheckInterval, log, now)
		if err != nil {
			return nil, err
		}
		a.tokens = ts
	}
	if opts.OIDCIssuerURL != "" || opts.OIDCClientID != "" {
		v, err := newOIDCVerifier(ctx, opts, log, now)
		if err != nil {
			return nil, err
		}
		a.oidc = v
	}
	if a.tokens == nil && a.oidc == nil {
		log.Warn("no API authentication configured: every request needing a token is refused")
	}
	return a, nil
}

// TokenFileProblems returns what the token file's last reading left out
// (invalid lines, or the whole file when it cannot be read), after checking
// the file for changes; nil without a token file or problems.
func (a *Authenticator) TokenFileProblems() []string {
	if a.tokens == nil {
		return nil
	}
	return a.tokens.problems()
}

// Close releases the idle connections to the identity provider. The
// Authenticator starts no goroutines; Close may be called more than once.
func (a *Authenticator) Close() {
	if a.oidc != nil {
		a.oidc.client.CloseIdleConnections()
	}
}

// Authenticate returns the caller of r. Errors wrap ErrUnauthenticated,
// ErrForbidden, ErrRateLimited or ErrUnavailable, with messages safe to show.
func (a *Authenticator) Authenticate(r *http.Request) (Principal, error) {
	now := a.now()
	client := clientKey(r, a.proxies)
	token, err := bearerToken(r.Header)
	if errors.Is(err, errNoCredentials) {
		return Principal{}, err // nothing was guessed: not a failure to count
	}
	tp := printOf(token)
	if wait, blocked := a.limiter.blocked(client, tp, now); blocked {
		return Principal{}, &RateLimitError{RetryAfter: wait}
	}
	if err == nil {
		var p Principal
		if p, err = a.check(r.Context(), token); err == nil {
			a.limiter.succeed(client, tp)
			return p, nil
		}
	}
	if errors.Is(err, ErrUnauthenticated) {
		a.log.Info("authentication failed", "client", client, "reason", err.Error())
		if a.limiter.fail(client, now) {
			a.log.Warn("client blocked after repeated authentication failures", "client", client)
		}
	}
	return Principal{}, err
}

// check authenticates a presented token: a static token first (a cheap,
// constant-time scan), then, if it looks like a JWT, as an OIDC ID token.
func (a *Authenticator) check(ctx context.Context, token string) (Principal, error) {
	if a.tokens != nil {
		if p, ok := a.tokens.lookup(token); ok {
			return p, nil
		}
	}
	if a.oidc != nil && looksLikeJWT(token) {
		return a.oidc.authenticate(ctx, token)
	}
	return Principal{}, errUnknownToken
}

// looksLikeJWT reports whether s has the shape of a compact JWS: three
// base64url parts separated by dots.
func looksLikeJWT(s string) bool {
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return false
	}
	for _, p := range parts {
		if p == "" || strings.TrimLeft(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
			return false
		}
	}
	return true
}

func unauthenticated(reason string) error {
	return fmt.Errorf("%w: %s", ErrUnauthenticated, reason)
}

var errUnknownToken = unauthenticated("invalid token")
