package plan

import (
	"reflect"
	"testing"

	"github.com/envop/envop/internal/manifest"
	"github.com/envop/envop/internal/state"
)

var originalSelector = map[string]string{"creator": "pipeline", "name": "web"}

// TestTakeOverKeepsWhatRuns: what the original operator left running stays
// as it runs through the first sync of the same file, and the next commit
// that changes the version or the colour, or a deploy, moves it.
func TestTakeOverKeepsWhatRuns(t *testing.T) {
	// The original ran 1.1 (an API deploy since the file said 1.0).
	env := rolling("1.0")
	svc := &state.Service{Name: "web"}
	if !TakeOver(&env.Services[0], env, svc, map[string]Taken{"web": {Selector: originalSelector, Version: "1.1"}}, "", now) {
		t.Fatal("TakeOver changed nothing")
	}
	if !reflect.DeepEqual(svc.Selectors["web"], originalSelector) {
		t.Errorf("selectors = %v", svc.Selectors)
	}
	p := Make(Input{Env: env, States: map[string]*state.Service{"web": svc}, Git: true, Revision: "r1", At: now})
	if p.Versions["web"] != "1.1" || len(p.GitDeploys) != 0 {
		t.Errorf("first sync after the takeover: versions %v, git deploys %v: want 1.1 kept", p.Versions, p.GitDeploys)
	}
	if !reflect.DeepEqual(p.Selectors["web"], originalSelector) {
		t.Errorf("plan selectors = %v", p.Selectors)
	}
	// Idempotent: a second takeover of the same changes nothing.
	if TakeOver(&env.Services[0], env, svc, map[string]Taken{"web": {Selector: originalSelector, Version: "1.1"}}, "", now) {
		t.Error("a second TakeOver changed the state")
	}
	// A commit that changes the version wins.
	next := Make(Input{Env: rolling("2.0"), States: map[string]*state.Service{"web": svc}, Git: true, Revision: "r2", At: now})
	if next.Versions["web"] != "2.0" {
		t.Errorf("a commit changing the version after the takeover: %v", next.Versions)
	}
	// A service envop already drives keeps its intent.
	driven := &state.Service{Name: "web", Intents: map[string]state.Intent{"web": apiIntent("3.0")}, GitVersions: map[string]string{"web": "1.0"}}
	TakeOver(&env.Services[0], env, driven, map[string]Taken{"web": {Selector: originalSelector, Version: "1.1"}}, "", now)
	if driven.Version("web") != "3.0" {
		t.Errorf("takeover replaced an existing intent: %v", driven.Intents)
	}
	// Nothing taken: nothing changes.
	if TakeOver(&env.Services[0], env, &state.Service{Name: "web"}, nil, "", now) {
		t.Error("TakeOver with nothing taken changed the state")
	}
}

// TestTakeOverBlueGreenKeepsServingColour: the colour the original's parent
// Service routes to stays active, though the file says the other, through
// later commits that leave `active` alone.
func TestTakeOverBlueGreenKeepsServingColour(t *testing.T) {
	env := blueGreen("1.1", manifest.ColourBlue)
	svc := &state.Service{Name: "web"}
	taken := map[string]Taken{
		"web-blue":  {Selector: map[string]string{"creator": "pipeline", "name": "web-blue"}, Version: "1.0"},
		"web-green": {Selector: map[string]string{"creator": "pipeline", "name": "web-green"}, Version: "1.1"},
	}
	TakeOver(&env.Services[0], env, svc, taken, manifest.ColourGreen, now)
	p := Make(Input{Env: env, States: map[string]*state.Service{"web": svc}, Git: true, Revision: "r1", At: now})
	if p.Active["web"] != manifest.ColourGreen {
		t.Errorf("active after the takeover = %q, want green, where the original sent traffic", p.Active["web"])
	}
	if p.Versions["web-blue"] != "1.0" || p.Versions["web-green"] != "1.1" || len(p.GitDeploys) != 0 {
		t.Errorf("versions %v, git deploys %v: want each colour's running version kept", p.Versions, p.GitDeploys)
	}
	if len(p.Selectors) != 2 {
		t.Errorf("selectors = %v", p.Selectors)
	}
	back := Make(Input{Env: blueGreen("1.1", manifest.ColourBlue), States: map[string]*state.Service{"web": svc}, Git: true, Revision: "r2", At: now})
	if back.Active["web"] != manifest.ColourGreen {
		t.Errorf("the unchanged active: blue of the file overrode the serving colour: %v", back.Active)
	}
}
