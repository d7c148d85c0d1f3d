package controller

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/envop/envop/internal/audit"
	"github.com/envop/envop/internal/deploy"
	"github.com/envop/envop/internal/manifest"
	"github.com/envop/envop/internal/plan"
	"github.com/envop/envop/internal/render"
	"github.com/envop/envop/internal/state"
)

// ErrConflict is a request that cannot be carried out in the current state
// (a promotion to an unhealthy colour, a rollback with nothing to go back to).
var ErrConflict = errors.New("conflict")

// DeployRequest asks for a service to run a version.
type DeployRequest struct {
	Service     string
	Version     string
	Application string
	Caller
}

// Caller is who asks for a change, as the audit records them: their name
// and the address they called from (empty when not over the network).
type Caller struct {
	Actor   string
	Address string
}

// Deploy records a deploy durably and asks for a resync; it returns once the
// record is written, with the deploy's id. A blue/green service deploys to
// its inactive colour.
func (c *Controller) Deploy(ctx context.Context, req DeployRequest) (state.Deploy, error) {
	return c.deploy(ctx, req, audit.ActionDeploy)
}

// Rollback redeploys version, or by default the last version that
// succeeded before the current one.
func (c *Controller) Rollback(ctx context.Context, req DeployRequest) (state.Deploy, error) {
	if req.Version == "" {
		env, _, ok := c.Environment()
		if !ok {
			return state.Deploy{}, ErrNotReady
		}
		s, err := findService(env, req.Service)
		if err != nil {
			return state.Deploy{}, err
		}
		if req.Version, err = c.previousVersion(env, s); err != nil {
			return state.Deploy{}, err
		}
	}
	return c.deploy(ctx, req, audit.ActionRollback)
}

func (c *Controller) deploy(ctx context.Context, req DeployRequest, action string) (state.Deploy, error) {
	env, _, ok := c.Environment()
	if !ok {
		return state.Deploy{}, ErrNotReady
	}
	s, err := findService(env, req.Service)
	if err != nil {
		return state.Deploy{}, err
	}
	if err := checkVersion(req.Version); err != nil {
		return state.Deploy{}, err
	}
	if req.Application != "" && req.Application != applicationOf(s) {
		return state.Deploy{}, fmt.Errorf("%w: application %q is not the application of service %q (%q)", ErrInvalid, req.Application, s.Name, applicationOf(s))
	}
	workload := s.Name
	if s.IsBlueGreen(env) {
		svc, _ := c.store.Get(s.Name)
		workload = plan.Inactive(s, env, svc)
	}
	d, err := c.tracker.Accept(ctx, state.Deploy{
		Service: s.Name, Workload: workload, Version: req.Version, Application: req.Application,
		Source: state.SourceAPI, Actor: req.Actor,
	}, &audit.Record{Actor: req.Actor, Address: req.Address, Action: action, Revision: c.Status().Revision})
	if err != nil {
		return state.Deploy{}, err
	}
	c.log.Info("deploy accepted", "deploy", d.ID, "action", action, "service", s.Name, "workload", workload, "version", d.Version, "actor", d.Actor)
	c.Enqueue(TriggerDeploy)
	return d, nil
}

// previousVersion is the newest version that succeeded before the current
// intent, on the workload deploys go to.
func (c *Controller) previousVersion(env *manifest.Environment, s *manifest.Service) (string, error) {
	svc, _ := c.store.Get(s.Name)
	if svc == nil {
		svc = &state.Service{Name: s.Name}
	}
	var current string
	for _, w := range plan.Workloads(s, env) {
		if in, ok := svc.Intents[w]; ok && (current == "" || in.At.After(svc.Intents[current].At)) {
			current = w
		}
	}
	now := svc.Version(current)
	for i := len(svc.History) - 1; i >= 0; i-- {
		d := svc.History[i]
		if d.Status == state.StatusSucceeded && d.Version != now {
			return d.Version, nil
		}
	}
	return "", fmt.Errorf("%w: service %q has no earlier successful version to roll back to", ErrConflict, s.Name)
}

// notPromotable says why a colour cannot take traffic, or "" when it runs
// the version it is driven to (want, "" when none is recorded) and is green.
// A colour still green on its previous version while a deploy to it has
// not been applied or rolled out yet is not promotable.
func notPromotable(w deploy.Workload, want string) string {
	switch {
	case !w.Exists:
		return "it does not run yet"
	case want != "" && w.Version != want:
		return fmt.Sprintf("it runs version %s and is still being deployed version %s", w.Version, want)
	case w.Status != deploy.Green:
		why := fmt.Sprintf("it is %s", w.Status)
		if w.Reason != "" {
			why += " (" + w.Reason + ")"
		}
		return why
	}
	return ""
}

// Promote switches a blue/green service's traffic to its inactive colour,
// only when that colour runs the version it is driven to and is healthy.
func (c *Controller) Promote(ctx context.Context, service string, by Caller) (string, error) {
	env, _, ok := c.Environment()
	if !ok {
		return "", ErrNotReady
	}
	s, err := findService(env, service)
	if err != nil {
		return "", err
	}
	if !s.IsBlueGreen(env) {
		return "", fmt.Errorf("%w: service %q is not deployed blue/green", ErrConflict, s.Name)
	}
	svc, _ := c.store.Get(s.Name)
	target := plan.Inactive(s, env, svc)
	colour := target[len(s.Name)+1:]
	w := c.health.Workload(target)
	want := ""
	if svc != nil {
		want = svc.Version(target)
	}
	if why := notPromotable(w, want); why != "" {
		return "", fmt.Errorf("%w: cannot promote %s of service %q: %s", ErrConflict, colour, s.Name, why)
	}
	rec := audit.Record{Actor: by.Actor, Address: by.Address, Action: audit.ActionPromote, Service: s.Name, Version: w.Version,
		Revision: c.Status().Revision, Result: audit.ResultSuccess, Message: "traffic switched to " + colour}
	_, err = c.store.Update(ctx, s.Name, func(st *state.Service) error {
		st.Active = colour
		rec.Time = c.now()
		st.Audit = audit.Append(st.Audit, rec, audit.MaxPerService)
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("record promotion: %w", err)
	}
	audit.Log(c.log, rec)
	c.events.Normal(EventPromoted, fmt.Sprintf("%s: traffic switched to %s (version %s)", s.Name, colour, w.Version))
	kind, name := render.WorkloadObject(s, target, w.Version)
	c.events.On(kind, name, corev1.EventTypeNormal, EventPromoted,
		fmt.Sprintf("%s: traffic switched to %s (version %s) by %s", s.Name, colour, w.Version, actorOf(by.Actor)))
	c.Enqueue(TriggerPromote)
	return colour, nil
}

func findService(env *manifest.Environment, name string) (*manifest.Service, error) {
	for i := range env.Services {
		if env.Services[i].Name == name {
			return &env.Services[i], nil
		}
	}
	if errs := validation.IsDNS1123Label(name); len(errs) > 0 {
		return nil, fmt.Errorf("%w: service name %q: %s", ErrInvalid, name, errs[0])
	}
	return nil, fmt.Errorf("%w %q", ErrUnknownService, name)
}

// checkVersion accepts versions that are valid image tags and label values,
// since the version labels every object.
func checkVersion(v string) error {
	if v == "" {
		return fmt.Errorf("%w: version is required", ErrInvalid)
	}
	if problem := versionProblem(v); problem != "" {
		return fmt.Errorf("%w: version %q: %s", ErrInvalid, v, problem)
	}
	return nil
}

// versionProblem says why a version cannot be used, in terms of versions:
// it becomes an image tag and the app.kubernetes.io/version label of every
// object, so it must be a valid label value, which is also a valid tag.
func versionProblem(v string) string {
	if len(v) > validation.LabelValueMaxLength {
		return fmt.Sprintf("%d characters, at most %d (it labels every object as app.kubernetes.io/version)", len(v), validation.LabelValueMaxLength)
	}
	if len(validation.IsValidLabelValue(v)) > 0 {
		return "use letters, digits, '.', '_' and '-', starting and ending with a letter or digit (it becomes the image tag and the app.kubernetes.io/version label)"
	}
	return ""
}

func applicationOf(s *manifest.Service) string {
	if s.Application != "" {
		return s.Application
	}
	return s.Name
}
