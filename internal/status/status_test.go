package status

import (
	"testing"
	"time"

	"github.com/envop/envop/internal/health"
	"github.com/envop/envop/internal/manifest"
	"github.com/envop/envop/internal/state"
)

func env(t *testing.T, src string) *manifest.Environment {
	t.Helper()
	f, diags := manifest.Load("test.bitesize", []byte(src))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	return &f.Environments[0]
}

const plain = `project: p
environments:
  - name: dev
    namespace: dev
    services:
      - name: api
        version: "1.0"
        external_url: api.example.com
`

func TestServiceStatus(t *testing.T) {
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	e := env(t, plain)
	withIntent := func(v string, history ...state.Deploy) *state.Service {
		st := &state.Service{Name: "api"}
		st.SetIntent("api", state.Intent{Version: v, Source: state.SourceAPI, At: at})
		st.History = history
		return st
	}
	green := health.Workload{Name: "api", Version: "2.0", Status: health.Green, Replicas: health.Replicas{Desired: 2, Updated: 2, Ready: 2, Available: 2}}
	cases := []struct {
		name       string
		st         *state.Service
		ws         []health.Workload
		wantStatus health.Status
		wantReason string
		wantVer    string
	}{
		{"no version anywhere", &state.Service{Name: "api"}, nil, health.Orange, ReasonNoVersion, ""},
		{"intent not yet applied", withIntent("2.0"), nil, health.Orange, ReasonPending, "2.0"},
		{"old version still running", withIntent("2.0"), []health.Workload{{Name: "api", Version: "1.0", Status: health.Green}}, health.Orange, ReasonPending, "2.0"},
		{"rolled out", withIntent("2.0"), []health.Workload{green}, health.Green, "", "2.0"},
		{"failing version shown red", withIntent("3.0-crashloop"),
			[]health.Workload{{Name: "api", Version: "3.0-crashloop", Status: health.Red, Reason: "CrashLoopBackOff"}}, health.Red, "CrashLoopBackOff", "3.0-crashloop"},
		{"apply failed", withIntent("2.0", state.Deploy{Workload: "api", Version: "2.0", Status: state.StatusFailed, Reason: "ApplyFailed"}),
			[]health.Workload{{Name: "api", Version: "1.0", Status: health.Green}}, health.Red, "ApplyFailed", "2.0"},
		{"failed deploy, then applied by a retry and healthy", withIntent("2.0", state.Deploy{Workload: "api", Version: "2.0", Status: state.StatusFailed, Reason: "ApplyFailed"}),
			[]health.Workload{{Name: "api", Version: "2.0", Status: health.Green}}, health.Green, "", "2.0"},
		{"failed deploy, version running but not healthy", withIntent("2.0", state.Deploy{Workload: "api", Version: "2.0", Status: state.StatusFailed, Reason: "ProgressDeadlineExceeded"}),
			[]health.Workload{{Name: "api", Version: "2.0", Status: health.Orange, Reason: "Progressing"}}, health.Red, "ProgressDeadlineExceeded", "2.0"},
		{"failed deploy, version red now for a newer reason", withIntent("2.0", state.Deploy{Workload: "api", Version: "2.0", Status: state.StatusFailed, Reason: "ErrImagePull"}),
			[]health.Workload{{Name: "api", Version: "2.0", Status: health.Red, Reason: "ImagePullBackOff"}}, health.Red, "ImagePullBackOff", "2.0"},
	}
	for _, c := range cases {
		got := Build(Input{Env: e, States: map[string]*state.Service{"api": c.st}, Workloads: c.ws})
		s := got.Services[0]
		if health.Status(s.Status) != c.wantStatus || s.Reason != c.wantReason || s.Version != c.wantVer {
			t.Errorf("%s: got %s/%s version %q, want %s/%s version %q", c.name, s.Status, s.Reason, s.Version, c.wantStatus, c.wantReason, c.wantVer)
		}
		if got.Status != string(c.wantStatus) {
			t.Errorf("%s: environment %s, want %s", c.name, got.Status, c.wantStatus)
		}
		if len(s.ExternalURL) != 1 || s.ExternalURL[0] != "api.example.com" {
			t.Errorf("%s: external_url = %v", c.name, s.ExternalURL)
		}
	}
}

const blueGreen = `project: p
environments:
  - name: dev
    namespace: dev
    services:
      - name: api
        version: "1.0"
        deployment:
          method: bluegreen
          active: blue
`

func TestBlueGreenShowsNewestIntent(t *testing.T) {
	e := env(t, blueGreen)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	st := &state.Service{Name: "api"}
	st.SetIntent("api-blue", state.Intent{Version: "1.0", At: t0})
	st.SetIntent("api-green", state.Intent{Version: "2.0-badimage", At: t0.Add(time.Minute)})
	ws := []health.Workload{
		{Name: "api-blue", Version: "1.0", Status: health.Green},
		{Name: "api-green", Version: "2.0-badimage", Status: health.Red, Reason: "ImagePullBackOff"},
	}
	s := Build(Input{Env: e, States: map[string]*state.Service{"api": st}, Workloads: ws}).Services[0]
	if s.Workload != "api-green" || s.Version != "2.0-badimage" || s.Status != "red" || s.Active != "blue" || s.ActiveVersion != "1.0" {
		t.Fatalf("got %+v", s)
	}
}

func TestBeforeFirstSync(t *testing.T) {
	got := Build(Input{Environment: "dev", Namespace: "dev"})
	if got.Status != "orange" || got.Services == nil {
		t.Fatalf("got %+v", got)
	}
}
