package plan

import (
	"maps"
	"reflect"
	"time"

	"github.com/envop/envop/internal/manifest"
	"github.com/envop/envop/internal/render"
	"github.com/envop/envop/internal/state"
)

// gitActiveKey records, among a service's git versions, the active colour
// the file gave; names cannot contain a colon, so it never meets a workload.
const gitActiveKey = ":active"

// Input is what a plan is made from.
type Input struct {
	Env *manifest.Environment
	// States are the services' stored states by name; Make never modifies
	// them nor keeps them.
	States map[string]*state.Service
	// Git says Env comes from a revision: what it says of versions and
	// colours is git's word, which may set intents (a sync). Otherwise
	// only the stored intents are read (a resync of the last revision).
	Git bool
	// Revision, Author and At describe the revision, for the intents and
	// deploys git starts.
	Revision string
	Author   string
	At       time.Time
}

// Plan is what the state says each workload runs once git's word is taken.
type Plan struct {
	// Versions by workload, and Active colours by service; a workload or
	// service missing from them takes the file's.
	Versions map[string]string
	Active   map[string]string
	// Selectors are the pod selectors workloads keep, by workload name
	// (see TakeOver); the others take envop's.
	Selectors map[string]map[string]string
	// Services are the states git changed (git versions, active colour,
	// custom resource kind): copies, to persist. Empty for a resync.
	Services map[string]*state.Service
	// GitDeploys are the deploys git starts: a workload whose version it
	// changed.
	GitDeploys []state.Deploy
}

// Make resolves the plan of in: the latest intent wins. An API deploy (or
// rollback) sets a workload's intent; a later revision that changes the
// version the file gives sets it again; a revision that leaves it alone
// leaves the intent alone. A blue/green service takes a changed version on
// its inactive colour only (both colours at first), as a deploy would, and
// traffic moves by promotion; a change of `active` in the file wins over
// an earlier promotion, an unchanged one leaves the promotion alone.
func Make(in Input) *Plan {
	p := &Plan{Versions: map[string]string{}, Active: map[string]string{}, Selectors: map[string]map[string]string{},
		Services: map[string]*state.Service{}}
	for i := range in.Env.Services {
		s := &in.Env.Services[i]
		svc, ok := in.States[s.Name]
		if in.Git {
			if ok {
				svc = svc.Clone()
			} else {
				svc = &state.Service{Name: s.Name}
			}
			p.git(in, s, svc)
		} else if !ok {
			continue
		}
		p.take(s, in.Env, svc)
	}
	return p
}

// take records the versions and active colour svc drives s to.
func (p *Plan) take(s *manifest.Service, env *manifest.Environment, svc *state.Service) {
	for _, w := range Workloads(s, env) {
		if v := svc.Version(w); v != "" {
			p.Versions[w] = v
		}
	}
	if svc.Active != "" {
		p.Active[s.Name] = svc.Active
	}
	for w, sel := range svc.Selectors {
		p.Selectors[w] = sel
	}
}

// git applies what the revision says of a service to svc, a copy.
func (p *Plan) git(in Input, s *manifest.Service, svc *state.Service) {
	before := svc.Clone()
	if !s.IsBlueGreen(in.Env) {
		svc.ApplyGit(s.Name, s.Version, in.Revision, in.At)
	} else {
		gitBlueGreen(in, s, svc)
	}
	for _, w := range Workloads(s, in.Env) {
		if v := svc.Version(w); v != "" && v != before.Version(w) {
			p.GitDeploys = append(p.GitDeploys, state.Deploy{
				Service: s.Name, Workload: w, Version: v, Source: state.SourceGit,
				Revision: in.Revision, Actor: in.Author,
			})
		}
	}
	svc.Kind = render.CustomResourceKind(s).GroupKind().String()
	if svc.Kind == "" && before.Kind != "" {
		svc.Kind = before.Kind // a type dropped from the service: its object may still be there
	}
	if !maps.Equal(before.GitVersions, svc.GitVersions) || before.Active != svc.Active || before.Kind != svc.Kind {
		p.Services[s.Name] = svc
	}
}

// gitBlueGreen: git's version is tracked per service; a changed one goes
// to the inactive colour once a colour has an intent, to both before.
func gitBlueGreen(in Input, s *manifest.Service, svc *state.Service) {
	if svc.GitVersions == nil {
		svc.GitVersions = map[string]string{}
	}
	fileActive := s.ActiveColour(in.Env)
	if prev, ok := svc.GitVersions[gitActiveKey]; ok && prev != fileActive {
		svc.Active = "" // the file changed `active`: it wins over a promotion
	}
	svc.GitVersions[gitActiveKey] = fileActive
	prev, seen := svc.GitVersions[s.Name]
	svc.GitVersions[s.Name] = s.Version
	if s.Version == "" || (seen && prev == s.Version) {
		return
	}
	targets := Workloads(s, in.Env)
	if len(svc.Intents) > 0 {
		targets = []string{Inactive(s, in.Env, svc)}
	}
	for _, w := range targets {
		svc.SetIntent(w, state.Intent{Version: s.Version, Source: state.SourceGit, Revision: in.Revision, At: in.At})
	}
}

// Workloads names the workloads of a service.
func Workloads(s *manifest.Service, env *manifest.Environment) []string {
	if s.IsBlueGreen(env) {
		return []string{s.Name + "-" + manifest.ColourBlue, s.Name + "-" + manifest.ColourGreen}
	}
	return []string{s.Name}
}

// Active is the colour serving traffic: a promotion, else the file's.
func Active(s *manifest.Service, env *manifest.Environment, svc *state.Service) string {
	if svc != nil && svc.Active != "" {
		return svc.Active
	}
	return s.ActiveColour(env)
}

// Inactive names the workload of the colour not serving traffic.
func Inactive(s *manifest.Service, env *manifest.Environment, svc *state.Service) string {
	if Active(s, env, svc) == manifest.ColourBlue {
		return s.Name + "-" + manifest.ColourGreen
	}
	return s.Name + "-" + manifest.ColourBlue
}

// Taken is a workload of the original Environment Operator that envop
// takes over (package takeover).
type Taken struct {
	// Selector is its pod selector, which cannot change.
	Selector map[string]string
	// Version is the version it runs, "" when unknown.
	Version string
}

// TakeOver records in svc what the original Environment Operator left
// running of s: the selectors of its workloads, kept from now on; the
// version each runs, as the intent unless one exists; and active, the
// colour its blue/green parent Service routes to, as a promotion. The file's
// version and colour count as seen, so the revision being synced changes
// nothing that runs: the next one that changes them does. It reports
// whether svc changed.
func TakeOver(s *manifest.Service, env *manifest.Environment, svc *state.Service, taken map[string]Taken, active string, at time.Time) bool {
	before := svc.Clone()
	found := false
	for _, w := range Workloads(s, env) {
		t, ok := taken[w]
		if !ok {
			continue
		}
		found = true
		if svc.Selectors == nil {
			svc.Selectors = map[string]map[string]string{}
		}
		svc.Selectors[w] = maps.Clone(t.Selector)
		if _, has := svc.Intents[w]; !has && t.Version != "" {
			svc.SetIntent(w, state.Intent{Version: t.Version, Source: state.SourceTakeover, At: at})
		}
	}
	if !found {
		return false
	}
	if svc.GitVersions == nil {
		svc.GitVersions = map[string]string{}
	}
	if _, seen := svc.GitVersions[s.Name]; !seen && s.Version != "" {
		svc.GitVersions[s.Name] = s.Version
	}
	if s.IsBlueGreen(env) {
		if _, seen := svc.GitVersions[gitActiveKey]; !seen {
			svc.GitVersions[gitActiveKey] = s.ActiveColour(env)
		}
		if svc.Active == "" && (active == manifest.ColourBlue || active == manifest.ColourGreen) {
			svc.Active = active
		}
	}
	return !reflect.DeepEqual(before, svc)
}

// Render sets into opts what the plan decides the objects render with:
// versions, active colours and kept selectors.
func (p *Plan) Render(opts *render.Options) {
	opts.Versions, opts.Active, opts.Selectors = p.Versions, p.Active, p.Selectors
}
