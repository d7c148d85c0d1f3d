package state

import (
	"maps"
	"time"

	"github.com/envop/envop/internal/audit"
)

// Where an intent came from.
const (
	SourceGit = "git"
	SourceAPI = "api"
	// SourceTakeover is the version a workload of the original Environment
	// Operator ran when envop took it over.
	SourceTakeover = "takeover"
)

// Deploy statuses, as the API reports them.
const (
	StatusDeploying = "deploying"
	StatusSucceeded = "succeeded"
	StatusFailed    = "failed"
)

// MaxHistory bounds the deploys kept per service.
const MaxHistory = 50

// Intent is the version one workload is driven to, and its origin.
type Intent struct {
	Version  string    `json:"version"`
	Source   string    `json:"source"`
	Revision string    `json:"revision,omitempty"`
	Actor    string    `json:"actor,omitempty"`
	DeployID string    `json:"deployId,omitempty"`
	At       time.Time `json:"at"`
}

// Deploy is one attempt to bring a service to a version.
type Deploy struct {
	ID          string `json:"id"`
	Service     string `json:"service"`
	Workload    string `json:"workload"`
	Version     string `json:"version"`
	Application string `json:"application,omitempty"`
	Source      string `json:"source"`
	// Action is the audit action that started it (deploy, rollback, sync).
	Action     string    `json:"action,omitempty"`
	Revision   string    `json:"revision,omitempty"`
	Actor      string    `json:"actor,omitempty"`
	Status     string    `json:"status"`
	Reason     string    `json:"reason,omitempty"`
	Message    string    `json:"message,omitempty"`
	StartedAt  time.Time `json:"startedAt"`
	FinishedAt time.Time `json:"finishedAt,omitzero"`
}

// Done reports whether the deploy reached a terminal status.
func (d Deploy) Done() bool { return d.Status == StatusSucceeded || d.Status == StatusFailed }

// Service is everything remembered about one service.
type Service struct {
	Name string `json:"name"`
	// Intents by workload name (the service name, or NAME-blue/NAME-green).
	Intents map[string]Intent `json:"intents,omitempty"`
	// GitVersions is the version git last gave each workload: a commit that
	// changes it sets the intent again, one that does not leaves it alone.
	GitVersions map[string]string `json:"gitVersions,omitempty"`
	// Active is the blue/green colour chosen by promotion, if any.
	Active string `json:"active,omitempty"`
	// Kind is the kind of a legacy custom resource service, as Kind.group:
	// after a restart it still tells pruning to look for that kind once the
	// file no longer names the service.
	Kind string `json:"kind,omitempty"`
	// Selectors are the pod selectors, by workload name, of workloads
	// taken over from the original Environment Operator: a Deployment's
	// selector cannot change, so they keep the one they were created with
	// (docs/migrating.md).
	Selectors map[string]map[string]string `json:"selectors,omitempty"`
	// History holds the newest deploys last, at most MaxHistory.
	History []Deploy `json:"history,omitempty"`
	// Audit holds the records of changes to this service, written in the
	// same update as the change itself.
	Audit []audit.Record `json:"audit,omitempty"`
}

// AddDeploy appends d, dropping the oldest finished deploys beyond the bound.
func (s *Service) AddDeploy(d Deploy) {
	s.History = append(s.History, d)
	for len(s.History) > MaxHistory {
		i := 0
		for i < len(s.History)-1 && !s.History[i].Done() {
			i++
		}
		s.History = append(s.History[:i], s.History[i+1:]...)
	}
}

// Deploy returns the deploy with id, if this service has it.
func (s *Service) Deploy(id string) (Deploy, bool) {
	for _, d := range s.History {
		if d.ID == id {
			return d, true
		}
	}
	return Deploy{}, false
}

// UpdateDeploy replaces the deploy with the same id; false when absent.
func (s *Service) UpdateDeploy(d Deploy) bool {
	for i := range s.History {
		if s.History[i].ID == d.ID {
			s.History[i] = d
			return true
		}
	}
	return false
}

// SetIntent records an intent for a workload.
func (s *Service) SetIntent(workload string, in Intent) {
	if s.Intents == nil {
		s.Intents = map[string]Intent{}
	}
	s.Intents[workload] = in
}

// Clone returns a deep copy, so callers never share maps with the store.
func (s *Service) Clone() *Service {
	c := *s
	c.Intents = make(map[string]Intent, len(s.Intents))
	for k, v := range s.Intents {
		c.Intents[k] = v
	}
	c.GitVersions = make(map[string]string, len(s.GitVersions))
	for k, v := range s.GitVersions {
		c.GitVersions[k] = v
	}
	if s.Selectors != nil {
		c.Selectors = make(map[string]map[string]string, len(s.Selectors))
		for k, v := range s.Selectors {
			c.Selectors[k] = maps.Clone(v)
		}
	}
	c.History = append([]Deploy(nil), s.History...)
	c.Audit = append([]audit.Record(nil), s.Audit...)
	return &c
}

// Version is the version a workload is driven to, "" when none is known.
func (s *Service) Version(workload string) string {
	return s.Intents[workload].Version
}

// ApplyGit records what a commit says about a workload's version and
// returns the version to drive it to. The latest intent wins: a commit that
// changes the version git gives sets the intent again; a commit that leaves
// it alone keeps whatever an API deploy set since. A file without a version
// never clears a deployed one.
func (s *Service) ApplyGit(workload, gitVersion, revision string, at time.Time) string {
	if s.GitVersions == nil {
		s.GitVersions = map[string]string{}
	}
	previous, seen := s.GitVersions[workload]
	s.GitVersions[workload] = gitVersion
	_, hasIntent := s.Intents[workload]
	if gitVersion != "" && (!seen || previous != gitVersion || !hasIntent) {
		s.SetIntent(workload, Intent{Version: gitVersion, Source: SourceGit, Revision: revision, At: at})
	}
	return s.Version(workload)
}
