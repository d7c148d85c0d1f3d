package controller

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/envop/envop/internal/apply"
	"github.com/envop/envop/internal/audit"
	"github.com/envop/envop/internal/manifest"
	"github.com/envop/envop/internal/plan"
	"github.com/envop/envop/internal/render"
	"github.com/envop/envop/internal/state"
	"github.com/envop/envop/internal/status"
	"github.com/envop/envop/internal/vault"
)

// Sync results, as metrics label them.
const (
	resultSuccess = "success"
	resultInvalid = "invalid"
	resultFailed  = "failed"
)

// InvalidError is a revision that cannot be applied as it is: it is
// reported once and not retried until a new revision arrives.
type InvalidError struct {
	Revision string
	Err      error
}

func (e *InvalidError) Error() string {
	return fmt.Sprintf("%s%v", invalidPrefix(e), e.Err)
}

func (e *InvalidError) Unwrap() error { return e.Err }

// retryable says whether a retry may fix err, one of the errors it joins:
// not before any revision was valid (ErrNotReady), not for an invalid revision,
// nor for objects the API server refused for good (apply.Classify: a
// change to the file, the cluster or the object does); an RBAC refusal is
// retried during its grace period (forbiddenGrace).
func retryable(err error) bool {
	return slices.ContainsFunc(leaves(err), func(e error) bool {
		var invalid *InvalidError
		var grace *graceError
		switch {
		case errors.Is(e, ErrNotReady), errors.As(e, &invalid):
			return false
		case errors.As(e, &grace):
			return true
		}
		_, transient := apply.Classify(e)
		return transient
	})
}

// auditSync records one audit entry per revision synced, made by actor.
func (c *Controller) auditSync(ctx context.Context, snap Snapshot, actor string, err error) {
	rec := audit.Record{Time: c.now(), Actor: actor, Action: audit.ActionSync, Revision: snap.Revision,
		GistsRevision: snap.GistsRevision, Result: audit.ResultSuccess, Message: applied(snap.Revision, snap.GistsRevision)}
	if err != nil {
		rec.Result, rec.Message = audit.ResultFailed, auditMessage(err)
	}
	if rec.Actor == "" {
		rec.Actor = "git"
	}
	c.audit(ctx, rec)
}

// syncActor names who made snap, a new revision after last (the last good
// one, nil before the first): the author of the gists repository's commit
// when that alone changed, else the repository's commit's.
func syncActor(snap Snapshot, last *desired) string {
	if last != nil && last.revision == snap.Revision && last.gistsRevision != snap.GistsRevision && snap.GistsAuthor != "" {
		return snap.GistsAuthor
	}
	return snap.Author
}

// FetchFailed records that the repository could not be read.
func (c *Controller) FetchFailed(err error) {
	c.statusMu.Lock()
	c.fetchFailing = true
	c.status.Status, c.status.Error, c.status.At = SyncError, "fetch: "+err.Error(), time.Now().UTC()
	c.statusMu.Unlock()
	c.generation.Add(1)
	c.metrics.ObserveSync(resultFailed, 0)
}

// loadConfined loads a snapshot under the installer's policy, with the
// operator's own Secrets as they are now.
func (c *Controller) loadConfined(ctx context.Context, snap Snapshot) (*desired, error) {
	own, err := c.own(ctx)
	if err != nil {
		return nil, fmt.Errorf("list the operator's own secrets: %w", err)
	}
	policy := c.cfg.Policy
	policy.OwnSecrets = append(slices.Clone(policy.OwnSecrets), own...)
	return c.load(snap, policy)
}

// load reads and validates the manifest of a snapshot; what policy refuses
// in the operator's environment is an error like any other. Gists are read
// as manifest.ReadGistFiles says: from the gists repository's tree when the
// environment reads one, else from the manifest's folder, then the root.
func (c *Controller) load(snap Snapshot, policy manifest.Policy) (*desired, error) {
	invalid := func(err error) error { return &InvalidError{Revision: snap.Revision, Err: err} }
	f, diags, err := manifest.LoadFSWithGists(snap.Files, c.cfg.File, c.gistTree(snap))
	if err != nil {
		return nil, invalid(err)
	}
	env := f.Environment(c.cfg.Environment)
	if env != nil {
		diags = append(diags, within(env, policy.Check(f))...)
		diags.Sort()
	}
	if diags.HasErrors() {
		return nil, invalid(&fileErrors{diags.Errors()})
	}
	if env == nil {
		return nil, invalid(fmt.Errorf("%s lists no environment %q", c.cfg.File, c.cfg.Environment))
	}
	if env.Namespace != "" && env.Namespace != c.cfg.Namespace {
		return nil, invalid(fmt.Errorf("environment %q is bound to namespace %q, but the operator runs in %q", env.Name, env.Namespace, c.cfg.Namespace))
	}
	if bad := manifest.ServiceNamespaces(f, env, c.cfg.Namespace); len(bad) > 0 {
		return nil, invalid(&fileErrors{bad})
	}
	if len(env.Services) == 0 && !c.cfg.AllowEmpty && c.store.Len() > 0 {
		return nil, invalid(fmt.Errorf("environment %q suddenly lists no services: refusing to remove them all (run the operator with --allow-empty to allow it)", env.Name))
	}
	gistsRev := ""
	if env.ReadsGistsRepository() {
		if snap.Gists == nil {
			// The source fetches what the file names; a snapshot without
			// it was not made by the source of this file.
			return nil, fmt.Errorf("the gists repository %s was not fetched", env.GistsRepository.Remote)
		}
		gistsRev = snap.GistsRevision
	}
	files, err := manifest.ReadGistFiles(snap.Files, c.cfg.File, env, c.gistTree(snap))
	if err != nil {
		return nil, invalid(err)
	}
	return &desired{revision: snap.Revision, gistsRevision: gistsRev, author: snap.Author, project: f.Project, env: env, files: files}, nil
}

// gistTree gives the manifest's loader the gists repository of the
// operator's environment; the others' are not fetched.
func (c *Controller) gistTree(snap Snapshot) manifest.GistTree {
	return func(e *manifest.Environment) fs.FS {
		if e.Name != c.cfg.Environment {
			return nil
		}
		return snap.Gists
	}
}

// within keeps the diagnostics of env: the installer's policy of this
// operator binds its own environment, not the others the file lists.
func within(env *manifest.Environment, diags manifest.Diagnostics) manifest.Diagnostics {
	var out manifest.Diagnostics
	for _, d := range diags {
		if d.Path == env.Path || strings.HasPrefix(d.Path, env.Path+".") {
			out = append(out, d)
		}
	}
	return out
}

// reconcile renders d with the resolved versions, records new git intents,
// applies, prunes, and ends deploys whose objects could not be applied. It
// reports whether it changed anything: a service's state or an object.
func (c *Controller) reconcile(ctx context.Context, d *desired, fromGit bool) (bool, error) {
	phase := c.phaseClock()
	found, err := c.takeOver(ctx, d)
	phase("takeover")
	if err != nil {
		return false, c.forbidden.observe(fmt.Errorf("look for the original operator's objects: %w", err), c.now())
	}
	p := c.resolve(d, fromGit)
	res, err := c.render(d, p)
	phase("render")
	if err != nil {
		return false, &InvalidError{Revision: d.revision, Err: err}
	}
	c.rememberServices(d.env)
	persisted := len(p.Services) > 0 || len(p.GitDeploys) > 0
	err = c.persist(ctx, d, p)
	phase("state")
	if err != nil {
		return persisted, c.forbidden.observe(err, c.now())
	}
	c.setLastGood(d)
	// TLS Secrets from Vault join the applied set; one that cannot be read
	// now is kept from pruning (Unavailable), never applied empty.
	secrets, tlsErr := c.vault.Secrets(ctx, res.Objects)
	phase("vault")
	objs := append(slices.Clone(res.Objects), secrets...)
	c.applier.RememberKinds(c.customKinds()...)
	cs := c.applier.Apply(ctx, objs, apply.Adoption(d.env))
	c.clearApplied(cs)
	phase("apply")
	pruned, pruneErr := c.applier.Prune(ctx, append(slices.Clone(objs), vault.Unavailable(tlsErr)...))
	c.leftOriginals(ctx, found, objs)
	phase("prune")
	c.recordChanges(cs, pruned)
	c.tellReverted(cs)
	err = c.forbidden.observe(errors.Join(cs.Err(), pruneErr, tlsErr), c.now())
	c.setRefused(cs, d)
	c.failUnapplied(ctx, cs, p.Versions)
	c.pruneEvents(pruned, d)
	c.setSkipped(res.Skipped)
	c.tracker.Evaluate(ctx)
	phase("evaluate")
	changed := persisted || cs.Writes() > 0 || pruned.Writes() > 0
	return changed, err
}

// phaseClock returns a function that records, each time it is called, the
// time since its previous call (or since phaseClock) as the duration of
// the phase it names (envop_sync_phase_duration_seconds).
func (c *Controller) phaseClock() func(phase string) {
	last := time.Now()
	return func(phase string) {
		now := time.Now()
		c.metrics.ObservePhase(phase, now.Sub(last))
		last = now
	}
}

// customKinds are the kinds of legacy custom resource services the state
// remembers, including services the file no longer names: a restarted
// operator learns from them which kinds to prune.
func (c *Controller) customKinds() []schema.GroupKind {
	return c.store.Kinds()
}

func (c *Controller) render(d *desired, p *plan.Plan) (*render.Result, error) {
	opts := c.cfg.Render
	opts.Namespace = c.cfg.Namespace
	opts.Files = d.files
	p.Render(&opts)
	return render.Render(d.env, d.project, opts)
}

// persist writes what git changed: the versions it gives and, for each
// workload whose version it changed, a deploy record.
func (c *Controller) persist(ctx context.Context, d *desired, p *plan.Plan) error {
	deploys := map[string][]state.Deploy{}
	for _, g := range p.GitDeploys {
		deploys[g.Service] = append(deploys[g.Service], g)
	}
	names := make([]string, 0, len(p.Services))
	for name := range p.Services {
		names = append(names, name)
	}
	for name := range deploys {
		if _, ok := p.Services[name]; !ok {
			names = append(names, name)
		}
	}
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	sem := make(chan struct{}, persistWorkers)
	for i, name := range names {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			errs[i] = c.persistService(ctx, p.Services[name], name, deploys[name])
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// persistWorkers bounds the state writes of one sync in flight at once.
const persistWorkers = 8

// persistService writes one service's git versions and the deploys git
// started, the first deploy carrying the versions in the same write.
func (c *Controller) persistService(ctx context.Context, planned *state.Service, name string, deploys []state.Deploy) error {
	var mutate func(*state.Service)
	if planned != nil {
		mutate = func(s *state.Service) {
			s.GitVersions = planned.GitVersions
			s.Active = planned.Active
			s.Kind = planned.Kind
		}
	}
	if len(deploys) == 0 {
		_, err := c.store.Update(ctx, name, func(s *state.Service) error { mutate(s); return nil })
		if err != nil {
			return fmt.Errorf("record git versions of %q: %w", name, err)
		}
		return nil
	}
	for i, g := range deploys {
		if i > 0 {
			mutate = nil
		}
		// The service's own audit names the commit's author for the
		// version git gives it, as it names the caller of /deploy.
		rec := &audit.Record{Actor: g.Actor, Action: audit.ActionSync, Revision: g.Revision}
		if _, err := c.tracker.AcceptWith(ctx, g, rec, mutate); err != nil {
			return fmt.Errorf("record deploy from git: %w", err)
		}
	}
	return nil
}

// failUnapplied ends the running deploys of the services whose objects
// the API server refused for good (see final), with the refusal's reason
// and the API server's message. A failure that a retry may fix (the API
// server unreachable, overloaded or timing out, an RBAC refusal in its
// grace period) leaves the deploy running: the retry decides. rendered
// are the versions this reconcile applied, by workload: a deploy accepted
// while it ran, of another version, was not applied, and the next
// reconcile judges it.
func (c *Controller) failUnapplied(ctx context.Context, cs *apply.ChangeSet, rendered map[string]string) {
	failed := cs.Failed()
	for _, d := range c.tracker.Running() {
		for _, ch := range failed {
			if reason, ok := c.final(ch.Err); ok && concerns(ch, d, rendered) {
				c.tracker.Fail(ctx, d, reason, ch.Err.Error())
				break
			}
		}
	}
}

// tellReverted tells, in the log and an Event on the object, of each drift
// the apply undid.
func (c *Controller) tellReverted(cs *apply.ChangeSet) {
	for _, ch := range cs.Changes {
		if ch.Reverted == "" || ch.Action == apply.Failed {
			continue
		}
		c.log.Info("drift reverted", "kind", ch.Kind, "name", ch.Name, "service", ch.Service, "drift", ch.Reverted)
		c.events.On(ch.Kind, ch.Name, corev1.EventTypeNormal, "DriftReverted",
			fmt.Sprintf("%s %s was %s; envop applied it again as the environment file says", ch.Kind, ch.Name, ch.Reverted))
	}
}

func (c *Controller) recordChanges(sets ...*apply.ChangeSet) {
	for _, cs := range sets {
		if cs == nil {
			continue
		}
		for action, n := range cs.Counts() {
			c.metrics.Objects.WithLabelValues(string(action)).Add(float64(n))
		}
	}
}

func (c *Controller) setAttempt(rev string) {
	c.statusMu.Lock()
	c.status.Attempted = rev
	c.statusMu.Unlock()
	c.generation.Add(1)
}

func (c *Controller) setSkipped(s []render.Skipped) {
	c.statusMu.Lock()
	c.skipped = s
	c.statusMu.Unlock()
	c.generation.Add(1)
}

// applied says which revisions a sync applied, as audit records and Events
// tell it.
func applied(rev, gistsRev string) string {
	if gistsRev == "" {
		return "applied revision " + shortRev(rev)
	}
	return "applied revision " + shortRev(rev) + " with gists revision " + shortRev(gistsRev)
}

func shortRev(rev string) string {
	if len(rev) > 12 {
		return rev[:12]
	}
	return rev
}

// clearApplied drops at once the refusals of the services none of whose
// objects failed: a deploy the health monitor sees succeed before
// setRefused runs never leaves its service shown refused.
func (c *Controller) clearApplied(cs *apply.ChangeSet) {
	failing := map[string]bool{}
	for _, ch := range cs.Failed() {
		failing[refusedService(ch)] = true
	}
	c.statusMu.Lock()
	defer c.statusMu.Unlock()
	var kept map[string]status.Refusal
	for svc, r := range c.refused {
		if failing[svc] {
			if kept == nil {
				kept = map[string]status.Refusal{}
			}
			kept[svc] = r
		}
	}
	if len(kept) != len(c.refused) {
		c.refused = kept
		c.generation.Add(1)
	}
}

// setRefused records, for status, the services the API server refused an
// object of for good, or that an object envop does not own keeps out
// (the first such object of each service counts), and tells of each
// refusal once in Events: on the environment and on the object.
func (c *Controller) setRefused(cs *apply.ChangeSet, d *desired) {
	refused := map[string]status.Refusal{}
	objects := map[string]apply.Change{}
	for _, ch := range cs.Failed() {
		reason, ok := c.final(ch.Err)
		svc := refusedService(ch)
		if _, seen := refused[svc]; !ok || seen || svc == "" {
			continue
		}
		refused[svc] = status.Refusal{Reason: reason, Message: ch.Err.Error()}
		objects[svc] = ch
	}
	c.statusMu.Lock()
	before := c.refused
	c.refused = refused
	c.statusMu.Unlock()
	c.generation.Add(1)
	for svc, r := range refused {
		if before[svc] != r {
			c.log.Warn("service not applied", "service", svc, "reason", r.Reason, "message", r.Message)
			c.events.Warning(r.Reason, r.Message)
			c.refusalEvent(objects[svc], r.Reason, r.Message, d)
		}
	}
}
