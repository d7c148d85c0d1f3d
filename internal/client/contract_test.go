package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/envop/envop/internal/api"
	"github.com/envop/envop/internal/audit"
	"github.com/envop/envop/internal/auth"
	"github.com/envop/envop/internal/client"
	"github.com/envop/envop/internal/controller"
	"github.com/envop/envop/internal/state"
	"github.com/envop/envop/internal/status"
)

// backend is an operator with one service, web, whose deploys fail.
type backend struct{}

func (backend) Status() status.Environment {
	return status.Environment{Environment: "staging", Namespace: "shop", Status: "red", Services: []status.Service{{
		Name: "web", Version: "1.2.4", Status: "red", Reason: "CrashLoopBackOff",
		Kind: "Deployment", Workload: "web-green", Active: "blue", ActiveVersion: "1.2.3",
		Replicas: status.Replicas{Desired: 3, Updated: 1, Ready: 2, Available: 2},
	}}}
}

func (backend) Pods(context.Context, string, int64) ([]api.Pod, error) {
	return []api.Pod{{Name: "web-1", Phase: "Running", Restarts: 3, Reason: "CrashLoopBackOff", Logs: "panic\n"}}, nil
}

func (backend) Deploy(_ context.Context, req controller.DeployRequest) (state.Deploy, error) {
	if req.Service != "web" {
		return state.Deploy{}, fmt.Errorf("%w %q", controller.ErrUnknownService, req.Service)
	}
	return state.Deploy{ID: "d1", Service: req.Service, Version: req.Version, Status: state.StatusDeploying, Actor: req.Actor}, nil
}

func (b backend) Rollback(ctx context.Context, req controller.DeployRequest) (state.Deploy, error) {
	req.Version = "1.2.3"
	return b.Deploy(ctx, req)
}

func (backend) Promote(context.Context, string, controller.Caller) (string, error) {
	return "", fmt.Errorf("%w: green is not healthy", controller.ErrConflict)
}

func (backend) GetDeploy(id string) (state.Deploy, bool) {
	return state.Deploy{ID: id, Service: "web", Version: "1.2.4", Status: state.StatusDeploying}, id == "d1"
}

func (backend) WaitDeploy(context.Context, string) (state.Deploy, bool) {
	return state.Deploy{ID: "d1", Service: "web", Version: "1.2.4", Status: state.StatusFailed,
		Reason: "CrashLoopBackOff", Message: "back-off", FinishedAt: time.Now()}, true
}

func (backend) Audit(service string, limit int) []audit.Record {
	return []audit.Record{{Time: time.Now(), Actor: "ci", Address: "192.0.2.1", Action: audit.ActionDeploy, Service: service, Result: audit.ResultFailed}}
}

func (backend) Webhook(context.Context, string) {}

func (backend) Diff(context.Context, api.DiffRequest) (api.DiffAnswer, error) {
	return api.DiffAnswer{Changes: []api.DiffChange{{Kind: "Deployment", Name: "web", Service: "web", Action: api.DiffUpdate, Diff: "-a\n+b\n"}}}, nil
}

type tokens map[string]auth.Role

func (t tokens) Authenticate(r *http.Request) (auth.Principal, error) {
	tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	if role, ok := t[tok]; ok {
		return auth.Principal{Name: "ci", Grants: []auth.Grant{{Role: role}}}, nil
	}
	return auth.Principal{}, auth.ErrUnauthenticated
}

func newAPI(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(api.New(api.Options{
		Backend: backend{}, Auth: tokens{"deployer": auth.RoleDeploy, "viewer": auth.RoleView},
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestReadsEveryField decodes the server's answers into the client's types
// and encodes them again: the bytes come back unchanged, so no field the
// server writes is lost on the way, and none is misnamed.
func TestReadsEveryField(t *testing.T) {
	srv := newAPI(t)
	for _, tt := range []struct {
		method, path, body string
		into               any
	}{
		{"GET", "/status", "", &client.Environment{}},
		{"GET", "/status/web", "", &client.Service{}},
		{"GET", "/status/web/pods", "", &struct {
			Pods []client.Pod `json:"pods"`
		}{}},
		{"GET", "/deploys/d1?wait=5s", "", &client.Deploy{}},
		{"POST", "/deploy", `{"name":"web","version":"1.2.4"}`, &client.Deploy{}},
		{"GET", "/audit", "", &[]client.AuditRecord{}},
	} {
		req, err := http.NewRequestWithContext(t.Context(), tt.method, srv.URL+tt.path, strings.NewReader(tt.body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer deployer")
		req.Header.Set("Content-Type", "application/json")
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode/100 != 2 {
			t.Fatalf("%s %s: %d %s %v", tt.method, tt.path, resp.StatusCode, raw, err)
		}
		if err := json.Unmarshal(raw, tt.into); err != nil {
			t.Fatalf("%s %s: %v", tt.method, tt.path, err)
		}
		again, err := json.Marshal(tt.into)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimSpace(string(raw)); got != string(again) {
			t.Errorf("%s %s: the client reads\n%s\nfrom\n%s", tt.method, tt.path, again, got)
		}
	}
}

// TestAgainstTheAPI checks the client's shapes and errors against the
// operator's real handler.
func TestAgainstTheAPI(t *testing.T) {
	srv := newAPI(t)
	ctx := t.Context()
	c, err := client.New(srv.URL, "deployer")
	if err != nil {
		t.Fatal(err)
	}
	d, err := c.Deploy(ctx, client.DeployRequest{Name: "web", Version: "1.2.4"})
	if err != nil || d.ID != "d1" || d.Status != client.StatusDeploying || d.Actor != "ci" {
		t.Fatalf("Deploy = %+v, %v", d, err)
	}
	d, err = c.GetDeploy(ctx, "d1", 5*time.Second)
	if err != nil || d.Status != client.StatusFailed || d.Reason != "CrashLoopBackOff" || d.FinishedAt == nil {
		t.Errorf("GetDeploy = %+v, %v", d, err)
	}
	env, err := c.Status(ctx)
	if err != nil || env.Environment != "staging" || env.Services[0].Replicas.Ready != 2 {
		t.Errorf("Status = %+v, %v", env, err)
	}
	s, err := c.ServiceStatus(ctx, "web")
	if err != nil || s.Reason != "CrashLoopBackOff" || s.Replicas.Desired != 3 {
		t.Errorf("ServiceStatus = %+v, %v", s, err)
	}
	pods, err := c.Pods(ctx, "web", 10)
	if err != nil || len(pods) != 1 || pods[0].Restarts != 3 || pods[0].Logs != "panic\n" {
		t.Errorf("Pods = %+v, %v", pods, err)
	}
	if d, err := c.Rollback(ctx, "web", ""); err != nil || d.Version != "1.2.3" {
		t.Errorf("Rollback = %+v, %v", d, err)
	}
	if recs, err := c.Audit(ctx, "web", 5); err != nil || len(recs) != 1 || recs[0].Result != audit.ResultFailed {
		t.Errorf("Audit = %+v, %v", recs, err)
	}

	viewer, _ := client.New(srv.URL, "viewer")
	stranger, _ := client.New(srv.URL, "nobody")
	for name, tc := range map[string]struct {
		call func() error
		want int
	}{
		"unknown service":  {func() error { _, err := c.ServiceStatus(ctx, "nope"); return err }, 404},
		"unknown deploy":   {func() error { _, err := c.GetDeploy(ctx, "d9", 0); return err }, 404},
		"deploy unknown":   {func() error { _, err := c.Deploy(ctx, client.DeployRequest{Name: "nope", Version: "1"}); return err }, 404},
		"promote conflict": {func() error { _, err := c.Promote(ctx, "web"); return err }, 409},
		"bad token":        {func() error { _, err := stranger.Status(ctx); return err }, 401},
		"view role": {func() error {
			_, err := viewer.Deploy(ctx, client.DeployRequest{Name: "web", Version: "1"})
			return err
		}, 403},
	} {
		err := tc.call()
		var apiErr *client.APIError
		if !errors.As(err, &apiErr) || apiErr.Status != tc.want || apiErr.Message == "" {
			t.Errorf("%s: error %v, want a %d with a message", name, err, tc.want)
		}
	}
}
