package client

import (
	"time"

	"github.com/envop/envop/internal/api"
	"github.com/envop/envop/internal/audit"
	"github.com/envop/envop/internal/status"
)

// Deploy statuses.
const (
	StatusDeploying = "deploying"
	StatusSucceeded = "succeeded"
	StatusFailed    = "failed"
)

// DeployRequest is the body of POST /deploy and POST /rollback.
type DeployRequest struct {
	Name        string `json:"name"`
	Version     string `json:"version,omitempty"`
	Application string `json:"application,omitempty"`
}

// Deploy is one deploy as GET /deploys/{id} shows it.
type Deploy struct {
	ID         string     `json:"id"`
	Service    string     `json:"service"`
	Workload   string     `json:"workload,omitempty"`
	Version    string     `json:"version"`
	Status     string     `json:"status"`
	Reason     string     `json:"reason"`
	Message    string     `json:"message"`
	Actor      string     `json:"actor"`
	Source     string     `json:"source,omitempty"`
	StartedAt  time.Time  `json:"started_at"`
	FinishedAt *time.Time `json:"finished_at"`
}

// Done reports whether the deploy reached a terminal status.
func (d Deploy) Done() bool { return d.Status == StatusSucceeded || d.Status == StatusFailed }

// The views of GET /status, GET /status/{service}/pods and GET /audit are
// the server's own types, so client and server cannot drift apart.
type (
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
