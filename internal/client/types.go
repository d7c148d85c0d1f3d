package client

import "time"

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

// Replicas of a service's workload.
type Replicas struct {
	Desired   int32 `json:"desired"`
	Updated   int32 `json:"updated"`
	Ready     int32 `json:"ready"`
	Available int32 `json:"available"`
}

// Service is one service of GET /status.
type Service struct {
	Name        string     `json:"name"`
	Application string     `json:"application"`
	Version     string     `json:"version"`
	Status      string     `json:"status"`
	Reason      string     `json:"reason"`
	Message     string     `json:"message"`
	Replicas    Replicas   `json:"replicas"`
	DeployedAt  *time.Time `json:"deployed_at"`
	ExternalURL []string   `json:"external_url"`
	Kind        string     `json:"kind,omitempty"`
	Workload    string     `json:"workload,omitempty"`
	Active      string     `json:"active,omitempty"`
}

// Sync is the state of the operator's last sync.
type Sync struct {
	Status string     `json:"status"`
	Error  string     `json:"error"`
	At     *time.Time `json:"at"`
}

// Environment is the answer to GET /status.
type Environment struct {
	Environment string    `json:"environment"`
	Namespace   string    `json:"namespace"`
	Revision    string    `json:"revision"`
	Sync        Sync      `json:"sync"`
	Status      string    `json:"status"`
	Services    []Service `json:"services"`
}

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

// Promotion is the answer to POST /promote.
type Promotion struct {
	Service string `json:"service"`
	Active  string `json:"active"`
}

// AuditRecord is one audited change, newest first in GET /audit.
type AuditRecord struct {
	Time     time.Time `json:"time"`
	Actor    string    `json:"actor"`
	Action   string    `json:"action"`
	Service  string    `json:"service"`
	Version  string    `json:"version"`
	Revision string    `json:"revision"`
	Result   string    `json:"result"`
	Message  string    `json:"message"`
}
