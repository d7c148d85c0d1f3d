package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/envop/envop/internal/apitypes"
)

// Deploy asks for req.Name to run req.Version (POST /deploy).
func (c *Client) Deploy(ctx context.Context, req DeployRequest) (Deploy, error) {
	var d Deploy
	err := c.do(ctx, http.MethodPost, "/deploy", nil, req, &d, 0)
	return d, err
}

// GetDeploy returns a deploy; with wait > 0 the server answers when the
// deploy ends or wait runs out, whichever comes first.
func (c *Client) GetDeploy(ctx context.Context, id string, wait time.Duration) (Deploy, error) {
	var q url.Values
	if wait > 0 {
		q = url.Values{"wait": {wait.String()}}
	}
	var d Deploy
	err := c.do(ctx, http.MethodGet, "/deploys/"+url.PathEscape(id), q, nil, &d, wait)
	return d, err
}

// Status returns the environment's status (GET /status).
func (c *Client) Status(ctx context.Context) (Environment, error) {
	var e Environment
	err := c.do(ctx, http.MethodGet, "/status", nil, nil, &e, 0)
	return e, err
}

// ServiceStatus returns one service's status (GET /status/{service}).
func (c *Client) ServiceStatus(ctx context.Context, service string) (Service, error) {
	var s Service
	err := c.do(ctx, http.MethodGet, "/status/"+url.PathEscape(service), nil, nil, &s, 0)
	return s, err
}

// Pods returns a service's pods with the last lines of their logs; lines
// <= 0 leaves the number to the server.
func (c *Client) Pods(ctx context.Context, service string, lines int) ([]Pod, error) {
	var q url.Values
	if lines > 0 {
		q = url.Values{"lines": {strconv.Itoa(lines)}}
	}
	var body apitypes.Pods
	err := c.do(ctx, http.MethodGet, "/status/"+url.PathEscape(service)+"/pods", q, nil, &body, 0)
	return body.Pods, err
}

// Rollback returns a service to version, or when version is empty to the
// last version that succeeded before the current one (POST /rollback).
func (c *Client) Rollback(ctx context.Context, service, version string) (Deploy, error) {
	var d Deploy
	err := c.do(ctx, http.MethodPost, "/rollback", nil, DeployRequest{Name: service, Version: version}, &d, 0)
	return d, err
}

// Promote switches a blue/green service to its other colour.
func (c *Client) Promote(ctx context.Context, service string) (Promotion, error) {
	var p Promotion
	err := c.do(ctx, http.MethodPost, "/promote", nil, apitypes.PromoteRequest{Name: service}, &p, 0)
	return p, err
}

// Audit returns audited changes, newest first: only service's when set, at
// most limit when limit > 0.
func (c *Client) Audit(ctx context.Context, service string, limit int) ([]AuditRecord, error) {
	q := url.Values{}
	if service != "" {
		q.Set("service", service)
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var records []AuditRecord
	err := c.do(ctx, http.MethodGet, "/audit", q, nil, &records, 0)
	return records, err
}
