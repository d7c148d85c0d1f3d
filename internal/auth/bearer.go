package auth

import (
	"fmt"
	"net/http"
	"strings"
)

// maxTokenLen bounds the token we are willing to examine; ID tokens with
// many groups are a few kilobytes.
const maxTokenLen = 16 << 10

var errNoCredentials = fmt.Errorf("%w: missing bearer token", ErrUnauthenticated)

// bearerToken extracts the token from `Authorization: Bearer <token>`. The
// scheme is case-insensitive; other schemes, an empty token, several
// Authorization headers and oversized tokens are rejected.
func bearerToken(h http.Header) (string, error) {
	values := h.Values("Authorization")
	switch len(values) {
	case 0:
		return "", errNoCredentials
	case 1:
	default:
		return "", unauthenticated("more than one Authorization header")
	}
	v := strings.TrimSpace(values[0])
	if v == "" {
		return "", errNoCredentials
	}
	scheme, token := v, ""
	if i := strings.IndexAny(v, " \t"); i >= 0 {
		scheme, token = v[:i], v[i+1:]
	}
	if !strings.EqualFold(scheme, "Bearer") {
		return "", unauthenticated("unsupported authorization scheme (want Bearer)")
	}
	token = strings.TrimSpace(token)
	switch {
	case token == "":
		return "", unauthenticated("empty bearer token")
	case len(token) > maxTokenLen:
		return "", unauthenticated("bearer token too long")
	}
	return token, nil
}
