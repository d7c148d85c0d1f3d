package controller

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/envop/envop/internal/apply"
	"github.com/envop/envop/internal/audit"
	"github.com/envop/envop/internal/deploy"
	"github.com/envop/envop/internal/manifest"
	"github.com/envop/envop/internal/metrics"
	"github.com/envop/envop/internal/render"
	"github.com/envop/envop/internal/state"
	"github.com/envop/envop/internal/status"
	"github.com/envop/envop/internal/vault"
)

// Sync statuses.
const (
	SyncPending = "pending"
	SyncSynced  = "synced"
	SyncError   = "error"
)

// Errors callers map to responses.
var (
	ErrNotReady       = errors.New("no valid revision synced yet")
	ErrUnknownService = errors.New("unknown service")
	ErrInvalid        = errors.New("invalid request")
)

// Applier applies and prunes rendered objects (package apply).
type Applier interface {
	Apply(ctx context.Context, objs []*unstructured.Unstructured, adopt apply.Adopt) *apply.ChangeSet
	Prune(ctx context.Context, desired []*unstructured.Unstructured) (*apply.ChangeSet, error)
	// RememberKinds adds custom resource kinds pruning lists from now on.
	RememberKinds(kinds ...schema.GroupKind)
}

// Snapshot is one revision of the repository.
type Snapshot struct {
	Revision string
	Files    fs.FS
	Author   string
	// Gists is the tree of the gists repository the environment names
	// (gists_repository) at GistsRevision, by GistsAuthor; nil when it
	// names none.
	Gists         fs.FS
	GistsRevision string
	GistsAuthor   string
}

// Config is what the controller needs to know of its environment.
type Config struct {
	Namespace   string
	Environment string
	// File is the manifest's path inside the repository.
	File string
	// Render carries the settings from flags (registry, project, ...).
	Render render.Options
	// AllowEmpty lets a revision listing no services remove them all.
	AllowEmpty bool
	// Policy is what the installer allows the file to reference; the
	// operator's own Secrets are added to it on every sync (Deps.OwnSecrets).
	Policy manifest.Policy
	// PruneAdopted deletes the objects the original Environment Operator
	// made that the file does not render (see leftOriginals).
	PruneAdopted bool
}

// SyncStatus is the state of the last sync.
type SyncStatus struct {
	Status string    `json:"status"`
	Error  string    `json:"error,omitempty"`
	At     time.Time `json:"at,omitzero"`
	// Revision is the last revision applied; Attempted the last one tried.
	Revision  string `json:"-"`
	Attempted string `json:"-"`
	// GistsRevision is the gists repository's revision applied with
	// Revision; empty when the environment names none.
	GistsRevision string `json:"-"`
}

// Deps are the parts a controller drives.
type Deps struct {
	Applier Applier
	Store   *state.Store
	Tracker *deploy.Tracker
	Health  deploy.Health
	Metrics *metrics.Metrics
	// Vault reads TLS certificates for Ingresses that ask for them; nil
	// reports those Ingresses as not configured.
	Vault *vault.Source
	// OwnSecrets lists the operator's own Secrets, which the file may
	// never reference; nil knows of none but the reserved names.
	OwnSecrets func(context.Context) ([]string, error)
	// Originals finds what the original Environment Operator left in the
	// namespace, to take it over; nil takes nothing over.
	Originals Originals
	// Events and Audit may be nil.
	Events Events
	Audit  func(context.Context, audit.Record)
	Log    *slog.Logger
}

// Controller reconciles one environment.
type Controller struct {
	cfg     Config
	applier Applier
	store   *state.Store
	tracker *deploy.Tracker
	health  deploy.Health
	vault   *vault.Source
	own     func(context.Context) ([]string, error)
	metrics *metrics.Metrics
	events  Events
	audit   func(context.Context, audit.Record)
	log     *slog.Logger

	// queue feeds the reconcile loop (Run); lastMu guards last, which
	// readers (status, deploys) need without waiting for a reconcile.
	queue  *queue
	lastMu sync.RWMutex
	last   *desired

	// generation changes with status and the last good revision.
	generation   atomic.Uint64
	statusMu     sync.RWMutex
	status       SyncStatus
	reconciled   bool // a reconcile finished since the start
	fetchFailing bool
	skipped      []render.Skipped
	refused      map[string]status.Refusal

	// forbidden (only the reconcile loop touches it) holds the RBAC refusals being retried (see
	// forbiddenGrace).
	forbidden streaks

	// kinds are the services rendered so far, for the objects Events are
	// about (see workloadObject).
	kindsMu sync.RWMutex
	kinds   map[string]manifest.Service

	// originals and lookedFor: see takeOver (only the reconcile loop
	// touches lookedFor).
	originals Originals
	lookedFor map[string]bool
}

// desired is a loaded, valid revision of the environment.
type desired struct {
	revision string
	// gistsRevision is the gists repository's, when there is one.
	gistsRevision string
	author        string
	project       string
	env           *manifest.Environment
	files         map[string][]byte
}

// New returns a controller.
func New(cfg Config, d Deps) *Controller {
	if d.Events == nil {
		d.Events = nopEvents{}
	}
	if d.Audit == nil {
		d.Audit = func(context.Context, audit.Record) {}
	}
	if d.OwnSecrets == nil {
		d.OwnSecrets = func(context.Context) ([]string, error) { return nil, nil }
	}
	return &Controller{
		cfg: cfg, applier: d.Applier, store: d.Store, tracker: d.Tracker, health: d.Health, vault: d.Vault, own: d.OwnSecrets,
		metrics: d.Metrics, events: d.Events, audit: d.Audit, log: d.Log, originals: d.Originals,
		status: SyncStatus{Status: SyncPending},
		queue:  newQueue(),
	}
}

func (c *Controller) now() time.Time { return time.Now().UTC() }

// Status returns the state of the last sync.
func (c *Controller) Status() SyncStatus {
	c.statusMu.RLock()
	defer c.statusMu.RUnlock()
	return c.status
}

// Refused returns the services the last sync or resync refused to apply,
// with the reason; nil when none.
func (c *Controller) Refused() map[string]status.Refusal {
	c.statusMu.RLock()
	defer c.statusMu.RUnlock()
	return c.refused
}

// Ready reports whether a valid revision has been applied.
func (c *Controller) Ready() bool {
	return c.Status().Revision != ""
}

// Environment returns the environment of the last valid revision.
func (c *Controller) Environment() (*manifest.Environment, string, bool) {
	d := c.lastGood()
	if d == nil {
		return nil, "", false
	}
	return d.env, d.project, true
}

func (c *Controller) lastGood() *desired {
	c.lastMu.RLock()
	defer c.lastMu.RUnlock()
	return c.last
}

func (c *Controller) setLastGood(d *desired) {
	c.lastMu.Lock()
	c.last = d
	c.lastMu.Unlock()
	c.generation.Add(1)
}

// Generation changes whenever Status or Environment may answer differently.
func (c *Controller) Generation() uint64 { return c.generation.Load() }
