package controller

import (
	"fmt"
	"maps"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/envop/envop/internal/apply"
	"github.com/envop/envop/internal/audit"
	"github.com/envop/envop/internal/deploy"
	"github.com/envop/envop/internal/manifest"
	"github.com/envop/envop/internal/render"
	"github.com/envop/envop/internal/state"
)

// Events records Kubernetes Events. The serve command provides one backed
// by an EventRecorder, which aggregates and rate-limits them; tests may
// pass nil.
type Events interface {
	// Normal and Warning record an Event about the environment, on the
	// operator's own Pod.
	Normal(reason, message string)
	Warning(reason, message string)
	// On records an Event about an object of the environment's namespace
	// (kind as in the object, e.g. "Deployment"); eventType is
	// corev1.EventTypeNormal or Warning.
	On(kind, name, eventType, reason, message string)
}

type nopEvents struct{}

func (nopEvents) Normal(string, string)                     {}
func (nopEvents) Warning(string, string)                    {}
func (nopEvents) On(string, string, string, string, string) {}

// Reasons of the Events on objects (docs/operator.md lists them); a
// refused object's Event has the refusal's reason (apply.Classify).
const (
	EventPromoted = "Promoted"
	EventPruned   = "Pruned"
)

// DeployEvent records an Event on the workload a deploy concerns, naming
// who asked for it: DeployAccepted, DeploySucceeded, DeployFailed or
// DeploySuperseded (Rollback... for rollbacks). The deploy tracker calls it
// for every deploy accepted and ended (OnAccept, OnEnd).
func (c *Controller) DeployEvent(d state.Deploy) {
	kind, name := c.workloadObject(d.Service, d.Workload, d.Version)
	noun, prefix := "deploy", "Deploy"
	if d.Action == audit.ActionRollback {
		noun, prefix = "rollback", "Rollback"
	}
	what := fmt.Sprintf("%s %s of version %s by %s", noun, d.ID, d.Version, actorOf(d.Actor))
	if d.Source == state.SourceGit && d.Revision != "" {
		what += " (commit " + shortRev(d.Revision) + ")"
	}
	eventType, reason, message := corev1.EventTypeNormal, prefix+"Accepted", what+" accepted"
	switch {
	case d.Status == state.StatusSucceeded:
		reason, message = prefix+"Succeeded", what+" succeeded"
	case d.Status == state.StatusFailed && d.Reason == deploy.ReasonSuperseded:
		reason, message = prefix+"Superseded", what+": "+d.Message
	case d.Status == state.StatusFailed:
		eventType, reason, message = corev1.EventTypeWarning, prefix+"Failed", what+" failed: "+joinReason(d.Reason, d.Message)
	}
	c.events.On(kind, name, eventType, reason, message)
}

func joinReason(reason, message string) string {
	switch {
	case reason == "":
		return message
	case message == "":
		return reason
	}
	return reason + ": " + message
}

func actorOf(actor string) string {
	if actor == "" {
		return "unknown"
	}
	return actor
}

// workloadObject is the kind and name of the object of a service's
// workload at version, as the environment last rendered names it; a
// service never rendered is taken for a Deployment.
func (c *Controller) workloadObject(service, workload, version string) (string, string) {
	c.kindsMu.RLock()
	s, ok := c.kinds[service]
	c.kindsMu.RUnlock()
	if !ok {
		return "Deployment", workload
	}
	return render.WorkloadObject(&s, workload, version)
}

// rememberServices keeps what workloadObject needs of env's services.
// Services the file no longer lists are kept: their deploys still end.
func (c *Controller) rememberServices(env *manifest.Environment) {
	c.kindsMu.Lock()
	defer c.kindsMu.Unlock()
	next := maps.Clone(c.kinds)
	if next == nil {
		next = map[string]manifest.Service{}
	}
	for _, s := range env.Services {
		next[s.Name] = s
	}
	c.kinds = next
}

// pruneEvents records an Event on every object pruned, naming the
// revision that no longer lists it and its author.
func (c *Controller) pruneEvents(pruned *apply.ChangeSet, d *desired) {
	if pruned == nil {
		return
	}
	for _, ch := range pruned.Changes {
		if ch.Action != apply.Pruned {
			continue
		}
		c.events.On(ch.Kind, ch.Name, corev1.EventTypeNormal, EventPruned,
			fmt.Sprintf("deleted: revision %s by %s no longer lists it", shortRev(d.revision), actorOf(d.author)))
	}
}

// refusalEvent records, on a refused object, why, and whose change it was:
// the running deploy of its service, else the revision's author.
func (c *Controller) refusalEvent(ch apply.Change, reason, message string, d *desired) {
	who := fmt.Sprintf("revision %s by %s", shortRev(d.revision), actorOf(d.author))
	var newest *state.Deploy
	for _, run := range c.tracker.Running() {
		if run.Service == ch.Service && (newest == nil || run.StartedAt.After(newest.StartedAt)) {
			newest = &run
		}
	}
	if newest != nil {
		who = fmt.Sprintf("deploy %s of version %s by %s", newest.ID, newest.Version, actorOf(newest.Actor))
	}
	message = strings.TrimSpace(message)
	c.events.On(ch.Kind, ch.Name, corev1.EventTypeWarning, reason, "not applied for "+who+": "+message)
}
