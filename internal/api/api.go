package api

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/envop/envop/internal/apitypes"
	"github.com/envop/envop/internal/audit"
	"github.com/envop/envop/internal/auth"
	"github.com/envop/envop/internal/controller"
	"github.com/envop/envop/internal/state"
	"github.com/envop/envop/internal/status"
)

// Bounds on what clients may ask for.
const (
	maxBody      = 64 << 10
	maxWait      = 30 * time.Minute
	maxLogLines  = 500
	defLogLines  = 100
	defAuditRows = 100
	maxAuditRows = 1000
)

// Pod is one pod of a service with the last lines of its log.
type Pod = apitypes.Pod

// Backend is what the API needs of the operator.
type Backend interface {
	Status() status.Environment
	Pods(ctx context.Context, service string, lines int64) ([]Pod, error)
	Deploy(ctx context.Context, req controller.DeployRequest) (state.Deploy, error)
	Rollback(ctx context.Context, req controller.DeployRequest) (state.Deploy, error)
	Promote(ctx context.Context, service string, by controller.Caller) (string, error)
	GetDeploy(id string) (state.Deploy, bool)
	WaitDeploy(ctx context.Context, id string) (state.Deploy, bool)
	Audit(service string, limit int) []audit.Record
	Webhook(ctx context.Context, actor string)
	// Diff says what a sync of the file would change, by the operator's
	// plan and a server-side dry run; an invalid file is an error wrapping
	// controller.ErrInvalid that lists its errors.
	Diff(ctx context.Context, req DiffRequest) (DiffAnswer, error)
}

// Authenticator checks a request's bearer token (package auth).
type Authenticator interface {
	Authenticate(r *http.Request) (auth.Principal, error)
}

// Options configure the API.
type Options struct {
	Backend Backend
	Auth    Authenticator
	// WebhookSecret signs webhook calls; empty refuses every webhook call.
	WebhookSecret []byte
	// WebhookLimits bound the deliveries that trigger a sync; zero fields
	// take the defaults.
	WebhookLimits WebhookLimits
	Log           *slog.Logger
	// Ready, when set, answers GET /readyz: nil is ready, an error (such as
	// controller.ErrNotReady) is a 503 saying why. Metrics, when set,
	// serves GET /metrics. Both, like GET /healthz, need no token, and other
	// methods get the 405 every route gives.
	Ready   func() error
	Metrics http.Handler
	// Warnings, when set, lists problems that do not make the operator
	// unready (an ignored line of the token file): /readyz still answers
	// 200, with one "warning:" line each after "ok".
	Warnings func() []string
	// TrustedProxies are the peers whose X-Forwarded-For names the client
	// in logs and audit records (auth.ClientAddr); the authenticator's
	// limiter takes the same list.
	TrustedProxies []netip.Prefix
	// SignIn, when its Issuer is set, is where the status page signs
	// people in; GET /auth/config tells the page, without a token.
	SignIn SignIn
}

// New returns the API's handler.
func New(opts Options) http.Handler {
	s := &server{Options: opts, hooks: newWebhookGuard(opts.WebhookLimits)}
	if s.Log == nil {
		s.Log = slog.New(slog.DiscardHandler)
	}
	return s.middleware(s.mux())
}

type server struct {
	Options
	cache statusCache
	hooks *webhookGuard
}

// route is one operation of the API. path is the OpenAPI path template,
// which is also the ServeMux pattern ("/" matches only itself).
type route struct {
	method, path string
	// role is the least role allowed; "" means no token is needed.
	role auth.Role
	h    handlerFunc
}

// routes lists every operation; openapi.json documents the same list and a
// test keeps the two equal.
func (s *server) routes() []route {
	return []route{
		{"POST", "/deploy", auth.RoleDeploy, s.deploy},
		{"GET", "/deploys/{id}", auth.RoleView, s.getDeploy},
		{"GET", "/status", auth.RoleView, s.status},
		{"GET", "/status/{service}", auth.RoleView, s.serviceStatus},
		{"GET", "/status/{service}/pods", auth.RoleView, s.pods},
		{"POST", "/rollback", auth.RoleDeploy, s.rollback},
		{"POST", "/promote", auth.RoleDeploy, s.promote},
		{"GET", "/audit", auth.RoleView, s.audit},
		{"POST", "/diff", auth.RoleView, s.diff},
		{"POST", "/webhook", "", s.webhook},
		{"GET", "/", "", s.page},
		{"GET", "/auth/config", "", s.authConfig},
		{"GET", "/openapi.json", "", s.openAPI},
	}
}

// mux registers the routes, and a fallback that answers 405 for a known
// path with another method and 404 for everything else, both in JSON.
func (s *server) mux() *http.ServeMux {
	mux := http.NewServeMux()
	for _, rt := range s.routes() {
		h := s.handle(rt.h)
		if rt.role != "" {
			h = s.with(rt.role, rt.h)
		}
		mux.Handle(rt.pattern(), h)
	}
	s.probes(mux)
	mux.Handle("/", s.handle(func(w http.ResponseWriter, r *http.Request) error {
		if allow := allowed(mux, r); len(allow) > 0 {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			return errorf(http.StatusMethodNotAllowed, "method %s not allowed for %s (allowed: %s)", r.Method, r.URL.Path, strings.Join(allow, ", "))
		}
		return errorf(http.StatusNotFound, "no route for %s %s", r.Method, r.URL.Path)
	}))
	return mux
}

// probes registers the routes for kubelets and Prometheus. They are not
// the API's operations (openapi.json leaves them out) but share its mux, so
// its 404, 405 and error shape.
func (s *server) probes(mux *http.ServeMux) {
	ok := func(w http.ResponseWriter) { _, _ = w.Write([]byte("ok\n")) }
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { ok(w) })
	if s.Ready != nil {
		mux.Handle("GET /readyz", s.handle(func(w http.ResponseWriter, _ *http.Request) error {
			if err := s.Ready(); err != nil {
				return err
			}
			ok(w)
			if s.Warnings != nil {
				for _, warning := range s.Warnings() {
					_, _ = fmt.Fprintf(w, "warning: %s\n", warning)
				}
			}
			return nil
		}))
	}
	if s.Metrics != nil {
		mux.Handle("GET /metrics", s.Metrics)
	}
}

func (rt route) pattern() string {
	if rt.path == "/" {
		return rt.method + " /{$}"
	}
	return rt.method + " " + rt.path
}

// allowed returns the methods a route serves for r's path.
func allowed(mux *http.ServeMux, r *http.Request) []string {
	var out []string
	for _, m := range []string{http.MethodGet, http.MethodPost} {
		if m == r.Method || (m == http.MethodGet && r.Method == http.MethodHead) {
			continue
		}
		probe := &http.Request{Method: m, URL: r.URL, Host: r.Host, Header: http.Header{}}
		if _, pattern := mux.Handler(probe); pattern != "" && pattern != "/" {
			out = append(out, m)
			if m == http.MethodGet {
				out = append(out, http.MethodHead)
			}
		}
	}
	return out
}
