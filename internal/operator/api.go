package operator

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"

	"github.com/envop/envop/internal/api"
	"github.com/envop/envop/internal/auth"
	"github.com/envop/envop/internal/controller"
)

// newAPI builds the authenticated HTTP API over the running parts.
func newAPI(ctx context.Context, opts Options, p Parts) (http.Handler, func(), error) {
	var authn api.Authenticator
	var warnings func() []string
	closeAuth := func() {}
	if opts.AuthTokenFile != "" || opts.OIDCIssuerURL != "" {
		a, err := auth.New(ctx, auth.Options{
			TokenFile: opts.AuthTokenFile, OIDCIssuerURL: opts.OIDCIssuerURL, OIDCClientID: opts.OIDCClientID,
			OIDCAllowedGroups: opts.OIDCAllowedGroups, Access: accessRules(p.Controller),
			TrustedProxies: opts.TrustedProxies, Log: opts.Log,
		})
		if err != nil {
			return nil, nil, fmt.Errorf("authentication: %w", err)
		}
		authn, closeAuth, warnings = a, a.Close, a.TokenFileProblems
		p.Metrics.CountTokenFileProblems(func() int { return len(a.TokenFileProblems()) })
	} else {
		opts.Log.Warn("API authentication not configured: every API call will be refused", "hint", "set --auth-token-file or --oidc-issuer-url")
	}
	var secret []byte
	if opts.WebhookSecretFile != "" {
		data, err := os.ReadFile(opts.WebhookSecretFile)
		if err != nil {
			closeAuth()
			return nil, nil, fmt.Errorf("read webhook secret: %w", err)
		}
		secret = bytes.TrimSpace(data)
	}
	var metricsHandler http.Handler // with --metrics-listen, /metrics is not the API's
	if !opts.metricsApart() {
		metricsHandler = p.Metrics.Handler()
	}
	h := api.New(api.Options{
		Backend: &backend{p: p, audit: p.Audit}, Auth: authn, WebhookSecret: secret, Log: opts.Log,
		Ready: func() error { return ready(p.Controller) }, Warnings: warnings, Metrics: metricsHandler,
		TrustedProxies: opts.TrustedProxies,
		SignIn:         api.SignIn{Issuer: opts.OIDCIssuerURL, ClientID: opts.OIDCClientID},
	})
	return h, closeAuth, nil
}

// ready is /readyz: ready once a revision is applied.
func ready(c *controller.Controller) error {
	if !c.Ready() {
		return fmt.Errorf("not ready: %w", controller.ErrNotReady)
	}
	return nil
}
