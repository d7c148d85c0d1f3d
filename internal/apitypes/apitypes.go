package apitypes

import "time"

// Statuses of a deploy.
const (
	StatusDeploying = "deploying"
	StatusSucceeded = "succeeded"
	StatusFailed    = "failed"
)

// DeployRequest is the body of POST /deploy and POST /rollback; Version
// may be left out of a rollback.
type DeployRequest struct {
	Name        string `json:"name"`
	Version     string `json:"version,omitempty"`
	Application string `json:"application,omitempty"`
}

// PromoteRequest is the body of POST /promote.
type PromoteRequest struct {
	Name string `json:"name"`
}

// Deploy is a deploy: the answer to POST /deploy, POST /rollback and GET
// /deploys/{id}.
type Deploy struct {
	ID         string     `json:"id"`
	Service    string     `json:"service"`
	Workload   string     `json:"workload"`
	Version    string     `json:"version"`
	Status     string     `json:"status"`
	Reason     string     `json:"reason"`
	Message    string     `json:"message"`
	Actor      string     `json:"actor"`
	Source     string     `json:"source"`
	StartedAt  time.Time  `json:"started_at"`
	FinishedAt *time.Time `json:"finished_at"`
}

// Done reports whether the deploy reached a terminal status.
func (d Deploy) Done() bool {
	return d.Status == StatusSucceeded || d.Status == StatusFailed
}

// Promotion is the answer to POST /promote: the colour that now takes
// the service's traffic. (Active comes first: the server wrote this answer
// as a map, whose keys encoding/json sorts, and the bytes stay as they were.)
type Promotion struct {
	Active  string `json:"active"`
	Service string `json:"service"`
}

// Replicas of a service's workload.
type Replicas struct {
	Desired   int32 `json:"desired"`
	Updated   int32 `json:"updated"`
	Ready     int32 `json:"ready"`
	Available int32 `json:"available"`
}

// Service is one service's status: GET /status/{service}, and an entry of
// GET /status. Version is the version the service is driven to (the last
// accepted intent), so a failed rollout shows the failing version.
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
	// Kind, Workload and Active help people; Active is set for blue/green,
	// with ActiveVersion, the version of the colour that takes traffic
	// (Version is the one being deployed, often to the other colour).
	Kind          string `json:"kind"`
	Workload      string `json:"workload"`
	Active        string `json:"active,omitempty"`
	ActiveVersion string `json:"active_version,omitempty"`
}

// Sync is the state of the last sync.
type Sync struct {
	Status string     `json:"status"`
	Error  string     `json:"error"`
	At     *time.Time `json:"at"`
}

// Environment is the answer to GET /status.
type Environment struct {
	Environment string `json:"environment"`
	Namespace   string `json:"namespace"`
	Revision    string `json:"revision"`
	// GistsRevision is the revision of the gists repository applied with
	// Revision, when the environment names one (gists_repository).
	GistsRevision string    `json:"gists_revision,omitempty"`
	Sync          Sync      `json:"sync"`
	Status        string    `json:"status"`
	Services      []Service `json:"services"`
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

// Pods is the answer to GET /status/{service}/pods.
type Pods struct {
	Pods []Pod `json:"pods"`
}

// AuditRecord is one audited change; GET /audit answers a list of them,
// newest first.
type AuditRecord struct {
	Time  time.Time `json:"time"`
	Actor string    `json:"actor"`
	// Address is the network address the actor called from, when the
	// change came through the API (docs/security.md).
	Address  string `json:"address,omitempty"`
	Action   string `json:"action"`
	Service  string `json:"service"`
	Version  string `json:"version"`
	Revision string `json:"revision"`
	// GistsRevision is the gists repository's revision a sync applied
	// with Revision, when the environment names one.
	GistsRevision string `json:"gists_revision,omitempty"`
	Result        string `json:"result"`
	Message       string `json:"message"`
}

// Error is the body of every answer that is not a success, with the
// answer's status code. (Code comes first: the server wrote this body as a
// map, whose keys encoding/json sorts, and the bytes stay as they were.)
type Error struct {
	Code    int    `json:"code"`
	Message string `json:"error"`
}

// The actions of a DiffChange.
const (
	DiffCreate    = "create"
	DiffUpdate    = "update"
	DiffDelete    = "delete"
	DiffUnchanged = "unchanged"
)

// DiffRequest is the body of POST /diff: a manifest, and the files its
// gists name by path in the repository.
type DiffRequest struct {
	File  string            `json:"file"`
	Gists map[string]string `json:"gists,omitempty"`
}

// DiffChange is what a sync of the file would do to one object.
type DiffChange struct {
	Kind string `json:"kind"`
	Name string `json:"name"`
	// Service is the object's service; empty for objects of the whole
	// environment.
	Service string `json:"service,omitempty"`
	Action  string `json:"action"`
	// Diff is a unified diff of the compared fields for an update, the
	// object's fields for a create; values of Secrets are masked.
	Diff string `json:"diff,omitempty"`
}

// DiffFailure is an object that could not be compared.
type DiffFailure struct {
	Kind    string `json:"kind"`
	Name    string `json:"name"`
	Service string `json:"service,omitempty"`
	Error   string `json:"error"`
}

// DiffAnswer is the answer of POST /diff.
type DiffAnswer struct {
	Changes []DiffChange  `json:"changes"`
	Failed  []DiffFailure `json:"failed,omitempty"`
	// Notes tell of objects a sync leaves alone though the file no longer
	// renders them (claims kept, a file suddenly listing nothing).
	Notes []string `json:"notes,omitempty"`
}
