package status

import (
	"sort"
	"time"

	"github.com/envop/envop/internal/apitypes"
	"github.com/envop/envop/internal/deploy"
	"github.com/envop/envop/internal/health"
	"github.com/envop/envop/internal/manifest"
	"github.com/envop/envop/internal/state"
)

// Reasons a service is orange before its workload reports.
const (
	ReasonNoVersion = "NoVersion"
	ReasonPending   = "Pending"
)

// The view's types are the API's (package apitypes), so what the server
// builds here is what clients read.
type (
	Replicas    = apitypes.Replicas
	Service     = apitypes.Service
	Sync        = apitypes.Sync
	Environment = apitypes.Environment
)

// Input is everything a view is built from.
type Input struct {
	Environment string
	Namespace   string
	Revision    string
	// GistsRevision is the gists repository's, when there is one.
	GistsRevision string
	Sync          Sync
	// Env is the last valid revision's environment; nil before the first.
	Env       *manifest.Environment
	States    map[string]*state.Service
	Workloads []health.Workload
	// Refused are the services the last reconcile could not apply for a
	// reason of their own: the API server refused one of their objects for
	// good (quota, admission, RBAC, invalid), or an object envop does not
	// own is in the way. They show red with the reason.
	Refused map[string]Refusal
}

// Refusal is why a service, or one of its objects, was not applied.
type Refusal struct {
	Reason  string
	Message string
}

// Build computes the environment's view.
func Build(in Input) Environment {
	out := Environment{
		Environment: in.Environment, Namespace: in.Namespace, Revision: in.Revision, GistsRevision: in.GistsRevision,
		Sync: in.Sync, Status: string(health.Green), Services: []Service{},
	}
	if in.Env == nil {
		out.Status = string(health.Orange)
		return out
	}
	byName := map[string]health.Workload{}
	for _, w := range in.Workloads {
		byName[w.Name] = w
	}
	statuses := []health.Status{}
	for i := range in.Env.Services {
		s := BuildService(in.Env, &in.Env.Services[i], in.States[in.Env.Services[i].Name], byName)
		if r, ok := in.Refused[s.Name]; ok {
			s.Status, s.Reason, s.Message = string(health.Red), r.Reason, r.Message
		}
		out.Services = append(out.Services, s)
		statuses = append(statuses, health.Status(s.Status))
	}
	sort.Slice(out.Services, func(i, j int) bool { return out.Services[i].Name < out.Services[j].Name })
	out.Status = string(health.Worst(statuses...))
	return out
}

// BuildService computes one service's view.
func BuildService(env *manifest.Environment, s *manifest.Service, st *state.Service, workloads map[string]health.Workload) Service {
	if st == nil {
		st = &state.Service{Name: s.Name}
	}
	target, intent := driven(env, s, st)
	out := Service{
		Name: s.Name, Application: application(s), Version: intent.Version,
		Kind: s.WorkloadKind(), Workload: target, ExternalURL: append([]string{}, s.ExternalURL...),
	}
	if s.IsBlueGreen(env) {
		out.Active = activeColour(env, s, st)
		active := s.Name + "-" + out.Active
		out.ActiveVersion = st.Version(active)
		if w, ok := workloads[active]; ok && w.Version != "" {
			out.ActiveVersion = w.Version
		}
	}
	w, exists := workloads[target]
	out.Status, out.Reason, out.Message = judge(st, target, intent, w, exists)
	if exists {
		out.Replicas = Replicas(w.Replicas)
	}
	if s.IsBlueGreen(env) {
		out.Status, out.Reason, out.Message = withActive(out, env, s, st, workloads)
	}
	out.DeployedAt = deployedAt(st, target, intent)
	return out
}

// driven returns the workload whose intent is the newest, and that intent.
func driven(env *manifest.Environment, s *manifest.Service, st *state.Service) (string, state.Intent) {
	names := []string{s.Name}
	if s.IsBlueGreen(env) {
		names = []string{s.Name + "-" + activeColour(env, s, st)}
		for _, c := range []string{manifest.ColourBlue, manifest.ColourGreen} {
			if w := s.Name + "-" + c; w != names[0] {
				names = append(names, w)
			}
		}
	}
	target, intent := names[0], st.Intents[names[0]]
	for _, n := range names[1:] {
		if in, ok := st.Intents[n]; ok && in.At.After(intent.At) {
			target, intent = n, in
		}
	}
	return target, intent
}

// judge says how the driven workload stands against its intent.
func judge(st *state.Service, target string, intent state.Intent, w health.Workload, exists bool) (string, string, string) {
	if intent.Version == "" {
		return string(health.Orange), ReasonNoVersion, "no version yet: waiting for a deploy"
	}
	// A failed deploy of the version stands until the workload runs that
	// version healthily: a retry or resync may still have applied it since.
	// While the version runs and is red, its live reason is the one shown:
	// it follows the pods (ErrImagePull becomes ImagePullBackOff, restarts
	// count up) where the deploy's reason is frozen at its end.
	running := exists && w.Version == intent.Version
	if d, ok := lastDeploy(st, target, intent.Version); ok && d.Status == state.StatusFailed && d.Reason != deploy.ReasonSuperseded && !(running && w.Status == health.Green) {
		if running && w.Status == health.Red {
			return string(health.Red), w.Reason, w.Message
		}
		return string(health.Red), d.Reason, d.Message
	}
	if !exists || w.Version != intent.Version {
		return string(health.Orange), ReasonPending, "rolling out version " + intent.Version
	}
	return string(w.Status), w.Reason, w.Message
}

// withActive keeps a blue/green service red when its active colour is red,
// whatever the colour being deployed does.
func withActive(out Service, env *manifest.Environment, s *manifest.Service, st *state.Service, ws map[string]health.Workload) (string, string, string) {
	active := s.Name + "-" + activeColour(env, s, st)
	if w, ok := ws[active]; ok && active != out.Workload && w.Status == health.Red {
		return string(health.Red), w.Reason, active + ": " + w.Message
	}
	return out.Status, out.Reason, out.Message
}

// lastDeploy is the newest deploy of version to workload.
func lastDeploy(st *state.Service, workload, version string) (state.Deploy, bool) {
	for i := len(st.History) - 1; i >= 0; i-- {
		if d := st.History[i]; d.Workload == workload && d.Version == version {
			return d, true
		}
	}
	return state.Deploy{}, false
}

// deployedAt is when the current version's deploy succeeded, else when it
// was asked for.
func deployedAt(st *state.Service, target string, intent state.Intent) *time.Time {
	if intent.Version == "" {
		return nil
	}
	if d, ok := lastDeploy(st, target, intent.Version); ok && d.Status == state.StatusSucceeded && !d.FinishedAt.IsZero() {
		t := d.FinishedAt
		return &t
	}
	if intent.At.IsZero() {
		return nil
	}
	t := intent.At
	return &t
}

func activeColour(env *manifest.Environment, s *manifest.Service, st *state.Service) string {
	if st.Active != "" {
		return st.Active
	}
	return s.ActiveColour(env)
}

func application(s *manifest.Service) string {
	if s.Application != "" {
		return s.Application
	}
	return s.Name
}

// Only returns the view e with the services keep accepts, the
// environment's status judged on those alone: what a caller confined to
// some services sees. The sync and revision are the environment's and stay.
func Only(e Environment, keep func(service string) bool) Environment {
	out := e
	out.Services = []Service{}
	statuses := []health.Status{}
	for _, s := range e.Services {
		if keep(s.Name) {
			out.Services = append(out.Services, s)
			statuses = append(statuses, health.Status(s.Status))
		}
	}
	if len(e.Services) > 0 { // otherwise nothing is applied yet: keep why
		out.Status = string(health.Worst(statuses...))
	}
	return out
}
