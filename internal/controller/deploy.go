package controller

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/envop/envop/internal/manifest"
	"github.com/envop/envop/internal/state"
)

// DeployRequest asks for a service to run a version.
type DeployRequest struct {
	Service     string
	Version     string
	Application string
	Actor       string
}

// Deploy records a deploy durably and asks for a resync; it returns once the
// record is written, with the deploy's id. A blue/green service deploys to
// its inactive colour.
func (c *Controller) Deploy(ctx context.Context, req DeployRequest) (state.Deploy, error) {
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
		workload = inactive(s, env, svc)
	}
	d, err := c.tracker.Accept(ctx, state.Deploy{
		Service: s.Name, Workload: workload, Version: req.Version, Application: req.Application,
		Source: state.SourceAPI, Actor: req.Actor,
	})
	if err != nil {
		return state.Deploy{}, err
	}
	c.log.Info("deploy accepted", "deploy", d.ID, "service", s.Name, "workload", workload, "version", d.Version, "actor", d.Actor)
	c.Kick()
	return d, nil
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
	if errs := validation.IsValidLabelValue(v); len(errs) > 0 {
		return fmt.Errorf("%w: version %q: %s", ErrInvalid, v, errs[0])
	}
	return nil
}

func applicationOf(s *manifest.Service) string {
	if s.Application != "" {
		return s.Application
	}
	return s.Name
}
