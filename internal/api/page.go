package api

import (
	_ "embed"
	"net/http"
	"net/url"
)

// statusPage is the page for people at GET /. It holds no data: it signs
// the person in, with an API token typed into it or with the identity
// provider GET /auth/config names, keeps the token in session storage and
// reads /status and /audit with it, like any other client. No token ever
// travels in its URL.
//
//go:embed page.html
var statusPage []byte

// SignIn is the identity provider the status page signs people in with:
// the authorization code flow with PKCE, as a public client whose redirect
// URI is the page itself. The browser talks to the provider directly, so
// the provider must allow the page's origin (CORS).
type SignIn struct {
	// Issuer is the OIDC issuer URL; empty means the page offers only the
	// token field.
	Issuer string
	// ClientID is the client the page signs in as: the audience the API
	// accepts ID tokens for.
	ClientID string
}

// signInConfig is GET /auth/config's body; Issuer empty leaves oidc out.
type signInConfig struct {
	OIDC *oidcConfig `json:"oidc,omitempty"`
}

type oidcConfig struct {
	Issuer   string `json:"issuer"`
	ClientID string `json:"client_id"`
}

func (s *server) authConfig(w http.ResponseWriter, _ *http.Request) error {
	var body signInConfig
	if s.SignIn.Issuer != "" {
		body.OIDC = &oidcConfig{Issuer: s.SignIn.Issuer, ClientID: s.SignIn.ClientID}
	}
	writeJSON(w, http.StatusOK, body)
	return nil
}

func (s *server) page(w http.ResponseWriter, _ *http.Request) error {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", pagePolicy(s.SignIn.Issuer))
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	_, err := w.Write(statusPage)
	return err
}

// pagePolicy is the page's Content-Security-Policy: inline code only,
// connections to the operator and to the issuer's origin (discovery and
// the token endpoint), and nothing else.
func pagePolicy(issuer string) string {
	connect := "'self'"
	if origin := issuerOrigin(issuer); origin != "" {
		connect += " " + origin
	}
	return "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src " + connect +
		"; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
}

// issuerOrigin is scheme://host[:port] of an http(s) issuer URL, or "" for
// anything else (auth.New refuses such an issuer before the API starts).
func issuerOrigin(issuer string) string {
	u, err := url.Parse(issuer)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return ""
	}
	for _, c := range u.Host {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == ':' || c == '[' || c == ']') {
			return ""
		}
	}
	return u.Scheme + "://" + u.Host
}
