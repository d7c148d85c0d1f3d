package api

import (
	"context"
	"log/slog"
	"net/http"
	"time"

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
type Pod struct {
	Name      string     `json:"name"`
	Phase     string     `json:"phase"`
	Ready     bool       `json:"ready"`
	Restarts  int32      `json:"restarts"`
	Reason    string     `json:"reason"`
	Message   string     `json:"message"`
	StartedAt *time.Time `json:"started_at"`
	Logs      string     `json:"logs"`
	LogsError string     `json:"logs_error,omitempty"`
}

// Backend is what the API needs of the operator.
type Backend interface {
	Status() status.Environment
	Pods(ctx context.Context, service string, lines int64) ([]Pod, error)
	Deploy(ctx context.Context, req controller.DeployRequest) (state.Deploy, error)
	Rollback(ctx context.Context, req controller.DeployRequest) (state.Deploy, error)
	Promote(ctx context.Context, service, actor string) (string, error)
	GetDeploy(id string) (state.Deploy, bool)
	WaitDeploy(ctx context.Context, id string) (state.Deploy, bool)
	Audit(service string, limit int) []audit.Record
	Webhook(ctx context.Context, actor string)
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
	Log           *slog.Logger
}

// New returns the API's handler.
func New(opts Options) http.Handler {
	s := &server{Options: opts}
	mux := http.NewServeMux()
	mux.Handle("POST /deploy", s.with(auth.RoleDeploy, s.deploy))
	mux.Handle("GET /deploys/{id}", s.with(auth.RoleView, s.getDeploy))
	mux.Handle("GET /status", s.with(auth.RoleView, s.status))
	mux.Handle("GET /status/{service}", s.with(auth.RoleView, s.serviceStatus))
	mux.Handle("GET /status/{service}/pods", s.with(auth.RoleView, s.pods))
	mux.Handle("POST /rollback", s.with(auth.RoleDeploy, s.rollback))
	mux.Handle("POST /promote", s.with(auth.RoleDeploy, s.promote))
	mux.Handle("GET /audit", s.with(auth.RoleView, s.audit))
	mux.Handle("POST /webhook", s.handle(s.webhook))
	mux.Handle("GET /{$}", s.handle(s.page))
	mux.Handle("/", s.handle(func(w http.ResponseWriter, r *http.Request) error {
		return errorf(http.StatusNotFound, "no route for %s %s", r.Method, r.URL.Path)
	}))
	return s.middleware(mux)
}

type server struct {
	Options
}
