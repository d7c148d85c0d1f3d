package state

import (
	"fmt"
	"testing"
	"time"
)

func TestApplyGitLatestIntentWins(t *testing.T) {
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := &Service{Name: "api"}
	steps := []struct {
		what       string
		git        string
		apiDeploy  string
		want       string
		wantSource string
	}{
		{what: "first commit sets the version", git: "1.0", want: "1.0", wantSource: SourceGit},
		{what: "API deploy overrides", git: "1.0", apiDeploy: "1.1", want: "1.1", wantSource: SourceAPI},
		{what: "commit not touching the version keeps the deploy", git: "1.0", want: "1.1", wantSource: SourceAPI},
		{what: "commit changing the version wins", git: "1.2", want: "1.2", wantSource: SourceGit},
		{what: "file drops the version: keep it", git: "", want: "1.2", wantSource: SourceGit},
		{what: "version back in the file: git wins again", git: "1.3", want: "1.3", wantSource: SourceGit},
	}
	for i, st := range steps {
		if st.apiDeploy != "" {
			s.SetIntent("api", Intent{Version: st.apiDeploy, Source: SourceAPI, At: at})
		}
		got := s.ApplyGit("api", st.git, fmt.Sprintf("rev%d", i), at)
		if got != st.want || s.Intents["api"].Source != st.wantSource {
			t.Fatalf("step %d (%s): version %q from %s, want %q from %s", i, st.what, got, s.Intents["api"].Source, st.want, st.wantSource)
		}
	}
}

func TestApplyGitNoVersionAnywhere(t *testing.T) {
	s := &Service{Name: "api"}
	if got := s.ApplyGit("api", "", "rev", time.Now()); got != "" {
		t.Fatalf("version = %q, want none", got)
	}
	s.SetIntent("api", Intent{Version: "2.0", Source: SourceAPI})
	if got := s.ApplyGit("api", "", "rev2", time.Now()); got != "2.0" {
		t.Fatalf("version = %q, want the deployed 2.0", got)
	}
}

func TestHistoryBoundedKeepsRunningDeploys(t *testing.T) {
	s := &Service{Name: "api"}
	s.AddDeploy(Deploy{ID: "running", Status: StatusDeploying})
	for i := range MaxHistory + 10 {
		s.AddDeploy(Deploy{ID: fmt.Sprint(i), Status: StatusSucceeded})
	}
	if len(s.History) != MaxHistory {
		t.Fatalf("history holds %d, want %d", len(s.History), MaxHistory)
	}
	if _, ok := s.Deploy("running"); !ok {
		t.Error("a deploy still running was dropped")
	}
	if _, ok := s.Deploy(fmt.Sprint(MaxHistory + 9)); !ok {
		t.Error("the newest deploy was dropped")
	}
	if _, ok := s.Deploy("0"); ok {
		t.Error("the oldest finished deploy was kept")
	}
}

func TestCloneDoesNotShare(t *testing.T) {
	s := &Service{Name: "api"}
	s.SetIntent("api", Intent{Version: "1"})
	s.AddDeploy(Deploy{ID: "a"})
	c := s.Clone()
	c.SetIntent("api", Intent{Version: "2"})
	c.History[0].Status = StatusFailed
	if s.Version("api") != "1" || s.History[0].Status != "" {
		t.Fatal("clone shares state with the original")
	}
}
