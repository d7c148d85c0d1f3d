// Package auth decides who is calling the HTTP API, with which roles and
// over which services (docs/api.md).
//
// Two kinds of bearer token are accepted:
//
//   - Static tokens from AUTH_TOKEN_FILE, one per line as
//     `TOKEN [NAME [ROLE [SERVICES]]]` (role view, deploy or admin, deploy
//     when absent; SERVICES comma-separated or `*`, the default). The file is
//     checked for changes at most every few seconds and re-read only when
//     its identity, size or modification time changed. Revocation fails
//     closed: a file that is gone or unreadable leaves no token working, and
//     an invalid line leaves out only itself, reported by number through
//     TokenFileProblems. The SHA-256 digest of the trimmed token is compared
//     with subtle.ConstantTimeCompare against the digest of every configured
//     token (digests also hide the length), and tokens never appear in logs
//     or errors. A token without a name is named after its line
//     ("token-line-3"), never after its value.
//
//   - OpenID Connect ID tokens, verified with go-oidc: issuer, audience (the
//     client id), expiry and signature against the issuer's published keys.
//     Discovery is cached once it succeeds; if the issuer cannot be reached
//     when the operator starts, discovery is retried lazily (with a back-off)
//     on later requests. Until it succeeds, OIDC tokens are answered with
//     ErrUnavailable. A user is named by their email only when the token
//     says email_verified is true, otherwise by issuer#subject.
//
// Authorisation of OIDC users: the groups come from a configurable claim
// (a string or a list of strings). When OIDC_ALLOWED_GROUPS is set, the user
// must belong to one of those groups, or the answer is ErrForbidden. The
// user's grants are then those of the manifest's `access` rules that match
// the user or one of their groups, each over its services; a member of an
// allowed group that no rule matches gets the deploy role. Allowed groups
// written GROUP=SERVICE+SERVICE are a ceiling: every grant is cut to the
// services of the user's allowed groups. When OIDC_ALLOWED_GROUPS is empty,
// only users matched by an `access` rule are let in: a valid ID token alone
// is never enough.
//
// Failed authentications (a token was presented and rejected) are counted per
// client address (ClientAddr: the connection's, X-Forwarded-For only from
// trusted proxies; IPv6 per /64); after 10 in a minute (configurable) that
// address is refused with ErrRateLimited for a minute, except for tokens that
// authenticated from it before. A request without any token and a valid but
// forbidden one are not failures. At most 10000 addresses are tracked.
//
// For the HTTP API: ErrUnauthenticated → 401, ErrForbidden → 403,
// ErrRateLimited → 429 (RateLimitError.RetryAfter for Retry-After),
// ErrUnavailable → 503.
package auth
