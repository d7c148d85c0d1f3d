package plan

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/envop/envop/internal/manifest"
	"github.com/envop/envop/internal/state"
)

var (
	t0  = time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	t1  = t0.Add(time.Hour)
	now = t1.Add(time.Hour)
)

func rolling(version string) *manifest.Environment {
	return &manifest.Environment{Name: "dev", Services: []manifest.Service{{Name: "web", Version: version}}}
}

func blueGreen(version, active string) *manifest.Environment {
	return &manifest.Environment{Name: "dev", Services: []manifest.Service{{Name: "web", Version: version,
		Deployment: &manifest.Deployment{Method: manifest.MethodBlueGreen, Active: active}}}}
}

func gitIntent(v string) state.Intent {
	return state.Intent{Version: v, Source: state.SourceGit, Revision: "r0", At: t0}
}

func apiIntent(v string) state.Intent {
	return state.Intent{Version: v, Source: state.SourceAPI, Actor: "ann", At: t1}
}

func deployOf(workload, version string) state.Deploy {
	return state.Deploy{Service: "web", Workload: workload, Version: version, Source: state.SourceGit, Revision: "r1", Actor: "dev"}
}

// synced is web after git gave it version v at r0 (and colour, for a
// blue/green service).
func synced(v string, intents map[string]state.Intent, git map[string]string) map[string]*state.Service {
	if git == nil {
		git = map[string]string{"web": v}
	}
	return map[string]*state.Service{"web": {Name: "web", Intents: intents, GitVersions: git}}
}

func TestMake(t *testing.T) {
	bgSynced := func(blue, green string, gitVersion string) map[string]*state.Service {
		return synced(gitVersion, map[string]state.Intent{"web-blue": gitIntent(blue), "web-green": gitIntent(green)},
			map[string]string{"web": gitVersion, gitActiveKey: "blue"})
	}
	promoted := bgSynced("1.0", "1.1", "1.1")
	promoted["web"].Active = "green"

	for _, tt := range []struct {
		name         string
		env          *manifest.Environment
		states       map[string]*state.Service
		resync       bool
		wantVersions map[string]string
		wantActive   map[string]string
		// wantGit is the git versions persisted (nil: the state is not written).
		wantGit     map[string]string
		wantDeploys []state.Deploy
	}{{
		name: "first commit sets the version", env: rolling("1.0"),
		wantVersions: map[string]string{"web": "1.0"}, wantGit: map[string]string{"web": "1.0"},
		wantDeploys: []state.Deploy{deployOf("web", "1.0")},
	}, {
		name: "commit that does not touch the version", env: rolling("1.0"),
		states:       synced("1.0", map[string]state.Intent{"web": gitIntent("1.0")}, nil),
		wantVersions: map[string]string{"web": "1.0"},
	}, {
		name: "commit that changes the version", env: rolling("1.1"),
		states:       synced("1.0", map[string]state.Intent{"web": gitIntent("1.0")}, nil),
		wantVersions: map[string]string{"web": "1.1"}, wantGit: map[string]string{"web": "1.1"},
		wantDeploys: []state.Deploy{deployOf("web", "1.1")},
	}, {
		name: "API deploy, then a commit that does not touch the version", env: rolling("1.0"),
		states:       synced("1.0", map[string]state.Intent{"web": apiIntent("2.0")}, nil),
		wantVersions: map[string]string{"web": "2.0"},
	}, {
		name: "API deploy, then a commit that changes the version", env: rolling("1.1"),
		states:       synced("1.0", map[string]state.Intent{"web": apiIntent("2.0")}, nil),
		wantVersions: map[string]string{"web": "1.1"}, wantGit: map[string]string{"web": "1.1"},
		wantDeploys: []state.Deploy{deployOf("web", "1.1")},
	}, {
		name: "rollback stays through a commit that does not touch the version", env: rolling("1.0"),
		states:       synced("1.0", map[string]state.Intent{"web": apiIntent("0.9")}, nil),
		wantVersions: map[string]string{"web": "0.9"},
	}, {
		name: "a file without a version never clears a deployed one", env: rolling(""),
		states:       synced("", map[string]state.Intent{"web": apiIntent("2.0")}, map[string]string{"web": ""}),
		wantVersions: map[string]string{"web": "2.0"},
	}, {
		name: "a version seen before but without an intent is set again", env: rolling("1.0"),
		states:       synced("1.0", nil, nil),
		wantVersions: map[string]string{"web": "1.0"},
		wantDeploys:  []state.Deploy{deployOf("web", "1.0")},
	}, {
		name: "resync reads the intents only", env: rolling("1.1"), resync: true,
		states:       synced("1.0", map[string]state.Intent{"web": apiIntent("2.0")}, nil),
		wantVersions: map[string]string{"web": "2.0"},
	}, {
		name: "resync of a service without state takes the file's", env: rolling("1.1"), resync: true,
		wantVersions: map[string]string{},
	}, {
		name: "blue/green: the first version goes to both colours", env: blueGreen("1.0", ""),
		wantVersions: map[string]string{"web-blue": "1.0", "web-green": "1.0"},
		wantGit:      map[string]string{"web": "1.0", gitActiveKey: "blue"},
		wantDeploys:  []state.Deploy{deployOf("web-blue", "1.0"), deployOf("web-green", "1.0")},
	}, {
		name: "blue/green: a changed version goes to the inactive colour only", env: blueGreen("1.1", ""),
		states:       bgSynced("1.0", "1.0", "1.0"),
		wantVersions: map[string]string{"web-blue": "1.0", "web-green": "1.1"},
		wantGit:      map[string]string{"web": "1.1", gitActiveKey: "blue"},
		wantDeploys:  []state.Deploy{deployOf("web-green", "1.1")},
	}, {
		name: "blue/green: after a promotion the inactive colour is the other one", env: blueGreen("1.2", ""),
		states:       promoted,
		wantVersions: map[string]string{"web-blue": "1.2", "web-green": "1.1"}, wantActive: map[string]string{"web": "green"},
		wantGit:     map[string]string{"web": "1.2", gitActiveKey: "blue"},
		wantDeploys: []state.Deploy{deployOf("web-blue", "1.2")},
	}, {
		name: "blue/green: an unchanged active leaves the promotion", env: blueGreen("1.1", "blue"),
		states:       promoted,
		wantVersions: map[string]string{"web-blue": "1.0", "web-green": "1.1"}, wantActive: map[string]string{"web": "green"},
	}, {
		name: "blue/green: a change of active in the file wins over the promotion", env: blueGreen("1.1", "green"),
		states:       promoted,
		wantVersions: map[string]string{"web-blue": "1.0", "web-green": "1.1"},
		wantGit:      map[string]string{"web": "1.1", gitActiveKey: "green"},
	}, {
		name: "blue/green: resync keeps the promotion", env: blueGreen("1.1", "green"), resync: true,
		states:       promoted,
		wantVersions: map[string]string{"web-blue": "1.0", "web-green": "1.1"}, wantActive: map[string]string{"web": "green"},
	}} {
		t.Run(tt.name, func(t *testing.T) {
			check := func(t *testing.T, states map[string]*state.Service) {
				before := encode(t, states)
				p := Make(Input{Env: tt.env, States: states, Git: !tt.resync, Revision: "r1", Author: "dev", At: now})
				if encode(t, states) != before {
					t.Errorf("Make modified its input states")
				}
				if tt.wantActive == nil {
					tt.wantActive = map[string]string{}
				}
				if !reflect.DeepEqual(p.Versions, tt.wantVersions) || !reflect.DeepEqual(p.Active, tt.wantActive) {
					t.Errorf("versions %v active %v, want %v and %v", p.Versions, p.Active, tt.wantVersions, tt.wantActive)
				}
				if !reflect.DeepEqual(p.GitDeploys, tt.wantDeploys) {
					t.Errorf("git deploys %+v, want %+v", p.GitDeploys, tt.wantDeploys)
				}
				svc, written := p.Services["web"]
				switch {
				case tt.wantGit == nil && written:
					t.Errorf("state written: %+v", svc)
				case tt.wantGit != nil && !written:
					t.Errorf("state not written, want git versions %v", tt.wantGit)
				case written && !reflect.DeepEqual(svc.GitVersions, tt.wantGit):
					t.Errorf("git versions %v, want %v", svc.GitVersions, tt.wantGit)
				case written && svc.Active != tt.wantActive["web"]:
					t.Errorf("persisted active %q, want %q", svc.Active, tt.wantActive["web"])
				}
			}
			check(t, tt.states)
			// A restarted operator reads the state back from its ConfigMaps.
			t.Run("restarted", func(t *testing.T) { check(t, reload(t, tt.states)) })
		})
	}
}

// TestMakeAgain: the state a sync writes makes the next sync of the same
// file a no-op, before and after a restart.
func TestMakeAgain(t *testing.T) {
	for _, env := range []*manifest.Environment{rolling("1.0"), blueGreen("1.0", "green")} {
		first := Make(Input{Env: env, Git: true, Revision: "r1", At: now})
		states := map[string]*state.Service{}
		for name, svc := range first.Services {
			states[name] = svc
		}
		for _, s := range []map[string]*state.Service{states, reload(t, states)} {
			again := Make(Input{Env: env, States: s, Git: true, Revision: "r2", At: now.Add(time.Hour)})
			if len(again.Services) > 0 || len(again.GitDeploys) > 0 || !reflect.DeepEqual(again.Versions, first.Versions) || !reflect.DeepEqual(again.Active, first.Active) {
				t.Errorf("%s: second sync planned %+v, first %+v", env.Services[0].Method(env), again, first)
			}
		}
	}
}

// TestMakeKind: the kind of a legacy custom resource service is recorded,
// and kept when the type is dropped (its object may still be there).
func TestMakeKind(t *testing.T) {
	env := &manifest.Environment{Name: "dev", Services: []manifest.Service{{Name: "db", Type: "mysql"}}}
	p := Make(Input{Env: env, Git: true, At: now})
	kind := p.Services["db"].Kind
	if kind == "" {
		t.Fatal("no kind recorded for a custom resource service")
	}
	env.Services[0].Type = ""
	p = Make(Input{Env: env, States: p.Services, Git: true, At: now})
	if svc, ok := p.Services["db"]; ok && svc.Kind != kind {
		t.Errorf("kind %q after the type was dropped, want %q kept", svc.Kind, kind)
	}
}

func encode(t *testing.T, states map[string]*state.Service) string {
	t.Helper()
	data, err := json.Marshal(states)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// reload is states as a restarted operator reads them: through JSON.
func reload(t *testing.T, states map[string]*state.Service) map[string]*state.Service {
	t.Helper()
	var out map[string]*state.Service
	if err := json.Unmarshal([]byte(encode(t, states)), &out); err != nil {
		t.Fatal(err)
	}
	return out
}
