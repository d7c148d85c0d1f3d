package auth

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
)

const (
	defaultGroupsClaim = "groups"
	// discoveryTimeout bounds one attempt to fetch the discovery document.
	discoveryTimeout = 10 * time.Second
	// httpTimeout is given to an HTTP client that has none, since go-oidc
	// fetches keys with a context that is never cancelled.
	httpTimeout = 30 * time.Second
	// Retries of a failed discovery back off from min to max.
	discoveryRetryMin = 2 * time.Second
	discoveryRetryMax = time.Minute
)

// oidcVerifier verifies ID tokens and maps them to principals. The
// discovery document is fetched once; until that succeeds, it is retried
// lazily by requests, no more often than the back-off allows.
type oidcVerifier struct {
	issuer, clientID string
	allowedGroups    []GroupRule
	groupsClaim      string
	access           func() []AccessRule
	client           *http.Client
	log              *slog.Logger
	now              func() time.Time

	mu       sync.Mutex // serialises discovery and guards the fields below
	verifier *oidc.IDTokenVerifier
	retryAt  time.Time
	backoff  time.Duration
}

func newOIDCVerifier(ctx context.Context, opts Options, log *slog.Logger, now func() time.Time) (*oidcVerifier, error) {
	if opts.OIDCIssuerURL == "" || opts.OIDCClientID == "" {
		return nil, errors.New("oidc: both the issuer URL and the client id are required")
	}
	if err := checkIssuerURL(opts.OIDCIssuerURL); err != nil {
		return nil, err
	}
	client := opts.HTTPClient
	if client == nil {
		client = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	}
	if client.Timeout == 0 {
		c := *client
		c.Timeout = httpTimeout
		client = &c
	}
	v := &oidcVerifier{
		issuer:        opts.OIDCIssuerURL,
		clientID:      opts.OIDCClientID,
		allowedGroups: opts.OIDCAllowedGroups,
		groupsClaim:   cmp.Or(opts.GroupsClaim, defaultGroupsClaim),
		access:        opts.Access,
		client:        client,
		log:           log,
		now:           now,
	}
	if len(v.allowedGroups) == 0 && v.access == nil {
		log.Warn("OIDC has neither allowed groups nor access rules: every OIDC user is refused")
	}
	if _, err := v.get(ctx); err != nil {
		log.Warn("OIDC discovery failed; retrying on later requests", "issuer", v.issuer, "error", err)
	}
	return v, nil
}

// checkIssuerURL requires https, except on a loopback host.
func checkIssuerURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return fmt.Errorf("oidc: issuer URL %q is not an absolute URL", s)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if h := u.Hostname(); h == "localhost" || strings.HasPrefix(h, "127.") || h == "::1" {
			return nil
		}
	}
	return fmt.Errorf("oidc: issuer URL %q must use https", s)
}

// get returns the verifier, running discovery if it has not succeeded yet
// and the back-off allows. ctx bounds the attempt.
func (v *oidcVerifier) get(ctx context.Context) (*oidc.IDTokenVerifier, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.verifier != nil {
		return v.verifier, nil
	}
	now := v.now()
	if now.Before(v.retryAt) {
		return nil, ErrUnavailable
	}
	// go-oidc keeps this context's values (the HTTP client), never its
	// cancellation, for the key fetches that follow.
	ctx, cancel := context.WithTimeout(oidc.ClientContext(ctx, v.client), discoveryTimeout)
	defer cancel()
	p, err := oidc.NewProvider(ctx, v.issuer)
	if err != nil {
		v.backoff = min(max(2*v.backoff, discoveryRetryMin), discoveryRetryMax)
		v.retryAt = now.Add(v.backoff)
		return nil, fmt.Errorf("oidc discovery for %s: %w", v.issuer, err)
	}
	v.verifier = p.Verifier(&oidc.Config{ClientID: v.clientID, Now: v.now})
	v.log.Info("OIDC discovery succeeded", "issuer", v.issuer)
	return v.verifier, nil
}

// idClaims are the claims read beyond the standard ones go-oidc checks.
type idClaims struct {
	Email         string `json:"email"`
	EmailVerified *bool  `json:"email_verified"`
}

func (v *oidcVerifier) authenticate(ctx context.Context, raw string) (Principal, error) {
	verifier, err := v.get(ctx)
	if err != nil {
		if !errors.Is(err, ErrUnavailable) {
			v.log.Warn("OIDC discovery failed", "issuer", v.issuer, "error", err)
		}
		return Principal{}, ErrUnavailable
	}
	tok, err := verifier.Verify(ctx, raw)
	if err != nil {
		var expired *oidc.TokenExpiredError
		if errors.As(err, &expired) {
			return Principal{}, unauthenticated("token expired")
		}
		// go-oidc's messages name claims (issuer, audience), never the token.
		v.log.Debug("ID token rejected", "error", err)
		return Principal{}, unauthenticated("invalid token")
	}
	p, err := v.principal(tok)
	if err != nil {
		return Principal{}, err
	}
	return v.authorise(p)
}

func (v *oidcVerifier) principal(tok *oidc.IDToken) (Principal, error) {
	var c idClaims
	var all map[string]any
	if err := tok.Claims(&c); err != nil {
		return Principal{}, unauthenticated("invalid token claims")
	}
	if err := tok.Claims(&all); err != nil {
		return Principal{}, unauthenticated("invalid token claims")
	}
	p := Principal{Method: MethodOIDC, Subject: tok.Subject, Groups: groupsOf(all[v.groupsClaim])}
	// Only an address the provider vouches for names a user: where users
	// edit their own email, an unverified one could be anybody's.
	if c.EmailVerified != nil && *c.EmailVerified {
		p.Email = c.Email
	}
	p.Name = cmp.Or(p.Email, subjectName(tok.Issuer, tok.Subject))
	return p, nil
}

// subjectName names a user without a verified email: the subject is unique
// only within its issuer.
func subjectName(issuer, subject string) string { return issuer + "#" + subject }

// ParseGroupRules reads OIDC_ALLOWED_GROUPS: comma-separated entries, each
// a group, or `GROUP=SERVICE+SERVICE...` to let the group's members act on
// those services only. Blanks are trimmed; empty entries are dropped.
func ParseGroupRules(s string) ([]GroupRule, error) {
	var out []GroupRule
	for _, item := range SplitList(s) {
		group, services, scoped := strings.Cut(item, "=")
		rule := GroupRule{Group: strings.TrimSpace(group)}
		if rule.Group == "" {
			return nil, fmt.Errorf("allowed group %q: the group name is empty", item)
		}
		if scoped {
			scope, err := ParseScope(strings.ReplaceAll(services, "+", ","))
			if err != nil {
				return nil, fmt.Errorf("allowed group %q: %w", rule.Group, err)
			}
			rule.Scope = scope
		}
		out = append(out, rule)
	}
	return out, nil
}

// groupsOf reads a groups claim that is a string or a list of strings.
func groupsOf(claim any) []string {
	switch g := claim.(type) {
	case string:
		if g != "" {
			return []string{g}
		}
	case []any:
		var out []string
		for _, e := range g {
			if s, ok := e.(string); ok && s != "" {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// authorise gives p its grants, or ErrForbidden. See the package
// documentation.
func (v *oidcVerifier) authorise(p Principal) (Principal, error) {
	ceiling, member := v.groupCeiling(p)
	if len(v.allowedGroups) > 0 && !member {
		return Principal{}, fmt.Errorf("%w: not a member of an allowed group", ErrForbidden)
	}
	var rules []AccessRule
	if v.access != nil {
		rules = v.access()
	}
	grants := grantsFromRules(p, rules)
	switch {
	case len(grants) > 0:
	case len(v.allowedGroups) > 0:
		grants = []Grant{{Role: RoleDeploy}}
	default:
		return Principal{}, fmt.Errorf("%w: no access rule grants this user a role", ErrForbidden)
	}
	// The allowed groups are the installer's ceiling: the file's rules
	// choose roles within it, never services beyond it.
	for _, g := range grants {
		if g.Scope = g.Scope.Intersect(ceiling); !g.Scope.Empty() {
			p.Grants = append(p.Grants, g)
		}
	}
	if len(p.Grants) == 0 {
		return Principal{}, fmt.Errorf("%w: the access rules and the allowed groups share no service", ErrForbidden)
	}
	return p, nil
}

// groupCeiling returns the services p's allowed groups let it act on (every
// service when no allowed groups are set) and whether p is in one of them.
func (v *oidcVerifier) groupCeiling(p Principal) (Scope, bool) {
	if len(v.allowedGroups) == 0 {
		return Scope{}, false
	}
	ceiling, member := ScopeOf(), false
	for _, rule := range v.allowedGroups {
		if slices.Contains(p.Groups, rule.Group) {
			ceiling, member = ceiling.Union(rule.Scope), true
		}
	}
	return ceiling, member
}

// grantsFromRules returns a grant for every rule matching p.
func grantsFromRules(p Principal, rules []AccessRule) []Grant {
	var out []Grant
	for _, r := range rules {
		if r.Role.Valid() && ruleMatches(r, p) {
			out = append(out, Grant{Role: r.Role, Scope: r.Scope})
		}
	}
	return out
}

func ruleMatches(r AccessRule, p Principal) bool {
	switch {
	case r.User != "":
		return (p.Email != "" && strings.EqualFold(r.User, p.Email)) || r.User == p.Subject || r.User == p.Name
	case r.Group != "":
		return slices.Contains(p.Groups, r.Group)
	}
	return false
}
