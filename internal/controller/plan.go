package controller

import (
	"time"

	"github.com/envop/envop/internal/manifest"
	"github.com/envop/envop/internal/render"
	"github.com/envop/envop/internal/state"
)

// gitActiveKey records, among a service's git versions, the active colour
// the file gave; names cannot contain a colon, so it never meets a workload.
const gitActiveKey = ":active"

// plan is what the state says each workload runs, with git's changes
// applied on copies: nothing is written until rendering succeeded.
type plan struct {
	versions   map[string]string
	active     map[string]string
	services   map[string]*state.Service
	gitDeploys []state.Deploy
}

// plan resolves versions: the latest intent wins (docs/operator.md).
func (c *Controller) plan(d *desired, fromGit bool) *plan {
	p := &plan{versions: map[string]string{}, active: map[string]string{}, services: map[string]*state.Service{}}
	if !fromGit {
		// A resync only reads the intents: no copy of every history.
		c.store.Read(func(states map[string]*state.Service) {
			for i := range d.env.Services {
				if svc, ok := states[d.env.Services[i].Name]; ok {
					p.take(&d.env.Services[i], d.env, svc)
				}
			}
		})
		return p
	}
	now := time.Now().UTC()
	for i := range d.env.Services {
		s := &d.env.Services[i]
		svc, ok := c.store.Get(s.Name)
		if !ok {
			svc = &state.Service{Name: s.Name}
		}
		c.planGit(p, d, s, svc, now)
		p.take(s, d.env, svc)
	}
	return p
}

// take records the versions and active colour svc drives s to.
func (p *plan) take(s *manifest.Service, env *manifest.Environment, svc *state.Service) {
	for _, w := range workloads(s, env) {
		if v := svc.Version(w); v != "" {
			p.versions[w] = v
		}
	}
	if svc.Active != "" {
		p.active[s.Name] = svc.Active
	}
}

// planGit applies what this revision says of a service to svc. Git's
// version is tracked per service: a blue/green service takes a changed
// version on its inactive colour only (both colours at first), as a deploy
// would, and traffic moves by promotion.
func (c *Controller) planGit(p *plan, d *desired, s *manifest.Service, svc *state.Service, now time.Time) {
	before := svc.Clone()
	if !s.IsBlueGreen(d.env) {
		svc.ApplyGit(s.Name, s.Version, d.revision, now)
	} else {
		c.planGitActive(svc, s, d.env)
		prev, seen := svc.GitVersions[s.Name]
		svc.GitVersions[s.Name] = s.Version
		if s.Version != "" && (!seen || prev != s.Version) {
			targets := workloads(s, d.env)
			if len(svc.Intents) > 0 {
				targets = []string{inactive(s, d.env, svc)}
			}
			for _, w := range targets {
				svc.SetIntent(w, state.Intent{Version: s.Version, Source: state.SourceGit, Revision: d.revision, At: now})
			}
		}
	}
	for _, w := range workloads(s, d.env) {
		if v := svc.Version(w); v != "" && v != before.Version(w) {
			p.gitDeploys = append(p.gitDeploys, state.Deploy{
				Service: s.Name, Workload: w, Version: v, Source: state.SourceGit,
				Revision: d.revision, Actor: d.author,
			})
		}
	}
	svc.Kind = render.CustomResourceKind(s).GroupKind().String()
	if svc.Kind == "" && before.Kind != "" {
		svc.Kind = before.Kind // a type dropped from the service: its object may still be there
	}
	if !equalStrings(before.GitVersions, svc.GitVersions) || before.Active != svc.Active || before.Kind != svc.Kind {
		p.services[s.Name] = svc
	}
}

// planGitActive: a change of `active` in the file wins over an earlier
// promotion; an unchanged one leaves the promotion alone.
func (c *Controller) planGitActive(svc *state.Service, s *manifest.Service, env *manifest.Environment) {
	if svc.GitVersions == nil {
		svc.GitVersions = map[string]string{}
	}
	fileActive := s.ActiveColour(env)
	if prev, ok := svc.GitVersions[gitActiveKey]; ok && prev != fileActive {
		svc.Active = ""
	}
	svc.GitVersions[gitActiveKey] = fileActive
}

// workloads names the workloads of a service.
func workloads(s *manifest.Service, env *manifest.Environment) []string {
	if s.IsBlueGreen(env) {
		return []string{s.Name + "-" + manifest.ColourBlue, s.Name + "-" + manifest.ColourGreen}
	}
	return []string{s.Name}
}

// active is the colour serving traffic: a promotion, else the file's.
func active(s *manifest.Service, env *manifest.Environment, svc *state.Service) string {
	if svc != nil && svc.Active != "" {
		return svc.Active
	}
	return s.ActiveColour(env)
}

// inactive names the workload of the colour not serving traffic.
func inactive(s *manifest.Service, env *manifest.Environment, svc *state.Service) string {
	if active(s, env, svc) == manifest.ColourBlue {
		return s.Name + "-" + manifest.ColourGreen
	}
	return s.Name + "-" + manifest.ColourBlue
}

func equalStrings(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
