// Package auth decides who is calling the HTTP API and with which role.
//
// Two kinds of bearer token are accepted:
//
//   - Static tokens from AUTH_TOKEN_FILE, one per line as `TOKEN [NAME [ROLE]]`
//     (role view, deploy or admin; deploy when absent). The file is checked for
//     changes at most every few seconds and re-read only when its identity,
//     size or modification time changed; a file that becomes unreadable or
//     invalid keeps the last good set. The SHA-256 digest of the trimmed
//     token is compared with subtle.ConstantTimeCompare against the digest of
//     every configured token (digests also hide the length), and tokens never
//     appear in logs or errors. A token without a name is named after its
//     line ("token-line-3"), never after its value.
//
//   - OpenID Connect ID tokens, verified with go-oidc: issuer, audience (the
//     client id), expiry and signature against the issuer's published keys.
//     Discovery is cached once it succeeds; if the issuer cannot be reached
//     when the operator starts, discovery is retried lazily (with a back-off)
//     on later requests, so a briefly unavailable identity provider never
//     stops the operator from starting. Until it succeeds, OIDC tokens are
//     answered with ErrUnavailable.
//
// Authorisation of OIDC users: the groups come from a configurable claim
// (a string or a list of strings). When OIDC_ALLOWED_GROUPS is set, the user
// must belong to one of those groups, or the answer is ErrForbidden. The role
// is then the highest role among the manifest's `access` rules that match the
// user (by email or subject) or one of their groups; a member of an allowed
// group that no rule matches gets the deploy role, the same default as a
// static token without a role. When OIDC_ALLOWED_GROUPS is empty, only users
// matched by an `access` rule are let in: a valid ID token alone is never
// enough, so that every user of a shared identity provider cannot deploy.
//
// Failed authentications (a token was presented and rejected) are counted per
// client address (the connection's, X-Forwarded-For only from trusted
// proxies, IPv6 per /64); after 10 in a minute (configurable) that address is
// refused with ErrRateLimited for a minute, valid token or not. Other
// addresses are not affected; a request without any token and a valid but
// forbidden one are not failures. At most 10000 addresses are tracked.
//
// For the HTTP API: ErrUnauthenticated → 401, ErrForbidden → 403,
// ErrRateLimited → 429 (RateLimitError.RetryAfter for Retry-After),
// ErrUnavailable → 503.
package auth
