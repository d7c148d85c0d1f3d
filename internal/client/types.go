package client

import (
	"github.com/envop/envop/internal/api"
	"github.com/envop/envop/internal/audit"
	"github.com/envop/envop/internal/state"
	"github.com/envop/envop/internal/status"
)

// Deploy statuses.
const (
	StatusDeploying = state.StatusDeploying
	StatusSucceeded = state.StatusSucceeded
	StatusFailed    = state.StatusFailed
)

// DeployRequest is the body of POST /deploy and POST /rollback.
type DeployRequest struct {
	Name        string `json:"name"`
	Version     string `json:"version,omitempty"`
	Application string `json:"application,omitempty"`
}

// The views of deploys, GET /status, GET /status/{service}/pods and GET
// /audit are the server's own types, so client and server cannot drift.
type (
	Deploy      = api.Deploy
	Replicas    = status.Replicas
	Service     = status.Service
	Sync        = status.Sync
	Environment = status.Environment
	Pod         = api.Pod
	AuditRecord = audit.Record
)

// Promotion is the answer to POST /promote.
type Promotion struct {
	Service string `json:"service"`
	Active  string `json:"active"`
}
