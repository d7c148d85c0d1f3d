package state_test

import (
	"context"
	"errors"
	"os"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/envop/envop/internal/state"
	"github.com/envop/envop/internal/testcluster"
)

func TestMain(m *testing.M) { os.Exit(testcluster.SharedMain(m)) }

func TestStoreSurvivesRestart(t *testing.T) {
	c, ns := testcluster.Get(t), testcluster.Namespace(t)
	ctx := t.Context()
	s := state.NewStore(c.Client, ns, "dev")
	if err := s.Load(ctx); err != nil {
		t.Fatal(err)
	}
	_, err := s.Update(ctx, "api", func(svc *state.Service) error {
		svc.SetIntent("api", state.Intent{Version: "1.2.3", Source: state.SourceAPI, Actor: "ci"})
		svc.AddDeploy(state.Deploy{ID: "d1", Service: "api", Version: "1.2.3", Status: state.StatusDeploying, StartedAt: time.Now()})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// A new store, as after an operator restart, sees everything.
	again := state.NewStore(c.Client, ns, "dev")
	if err := again.Load(ctx); err != nil {
		t.Fatal(err)
	}
	svc, ok := again.Get("api")
	if !ok || svc.Version("api") != "1.2.3" || svc.Intents["api"].Actor != "ci" {
		t.Fatalf("after reload: %+v", svc)
	}
	if d, ok := again.FindDeploy("d1"); !ok || d.Status != state.StatusDeploying {
		t.Fatalf("deploy d1 after reload: %+v, %v", d, ok)
	}
	// Another environment's store in the same namespace sees nothing.
	other := state.NewStore(c.Client, ns, "prod")
	if err := other.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if other.Len() != 0 {
		t.Fatalf("prod store sees %d services", other.Len())
	}
}

func TestStoreNoWriteWhenUnchanged(t *testing.T) {
	c, ns := testcluster.Get(t), testcluster.Namespace(t)
	ctx := t.Context()
	s := state.NewStore(c.Client, ns, "dev")
	set := func(svc *state.Service) error {
		svc.ApplyGit("api", "1.0", "abc", time.Unix(0, 0))
		return nil
	}
	if _, err := s.Update(ctx, "api", set); err != nil {
		t.Fatal(err)
	}
	before := resourceVersion(t, ctx, ns)
	if _, err := s.Update(ctx, "api", set); err != nil {
		t.Fatal(err)
	}
	if after := resourceVersion(t, ctx, ns); after != before {
		t.Fatalf("unchanged update wrote: %s -> %s", before, after)
	}
}

func TestStoreConflictRetries(t *testing.T) {
	c, ns := testcluster.Get(t), testcluster.Namespace(t)
	ctx := t.Context()
	a := state.NewStore(c.Client, ns, "dev")
	b := state.NewStore(c.Client, ns, "dev")
	if _, err := a.Update(ctx, "api", func(svc *state.Service) error {
		svc.AddDeploy(state.Deploy{ID: "from-a", Status: state.StatusSucceeded})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// b has a stale (empty) view: its create conflicts, it rereads and retries.
	if _, err := b.Update(ctx, "api", func(svc *state.Service) error {
		svc.AddDeploy(state.Deploy{ID: "from-b", Status: state.StatusSucceeded})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	check := state.NewStore(c.Client, ns, "dev")
	if err := check.Load(ctx); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"from-a", "from-b"} {
		if _, ok := check.FindDeploy(id); !ok {
			t.Errorf("deploy %s lost in the conflict", id)
		}
	}
}

func TestStoreConcurrentUpdates(t *testing.T) {
	c, ns := testcluster.Get(t), testcluster.Namespace(t)
	ctx := t.Context()
	s := state.NewStore(c.Client, ns, "dev")
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.Update(ctx, "api", func(svc *state.Service) error {
				svc.AddDeploy(state.Deploy{ID: string(rune('a' + i)), Status: state.StatusSucceeded})
				return nil
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	svc, _ := s.Get("api")
	if len(svc.History) != 20 {
		t.Fatalf("history has %d deploys, want 20", len(svc.History))
	}
}

func TestUpdateErrorWritesNothing(t *testing.T) {
	c, ns := testcluster.Get(t), testcluster.Namespace(t)
	s := state.NewStore(c.Client, ns, "dev")
	boom := errors.New("boom")
	if _, err := s.Update(t.Context(), "api", func(*state.Service) error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("err = %v, want boom", err)
	}
	if _, ok := s.Get("api"); ok {
		t.Fatal("failed update left state behind")
	}
}

func resourceVersion(t *testing.T, ctx context.Context, ns string) string {
	t.Helper()
	cm, err := testcluster.Get(t).Client.CoreV1().ConfigMaps(ns).Get(ctx, state.ConfigMapPrefix+"api", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return cm.ResourceVersion
}

// TestRunningFollowsEveryWrite: the running deploys are those not ended,
// after a reload as after each update, and a service whose deploys all
// ended no longer counts.
func TestRunningFollowsEveryWrite(t *testing.T) {
	c, ns := testcluster.Get(t), testcluster.Namespace(t)
	ctx := t.Context()
	s := state.NewStore(c.Client, ns, "dev")
	if err := s.Load(ctx); err != nil {
		t.Fatal(err)
	}
	ids := func(ds []state.Deploy) map[string]bool {
		out := map[string]bool{}
		for _, d := range ds {
			out[d.ID] = true
		}
		return out
	}
	for _, name := range []string{"api", "web"} {
		_, err := s.Update(ctx, name, func(svc *state.Service) error {
			svc.AddDeploy(state.Deploy{ID: name + "-1", Service: name, Workload: name, Version: "1", Status: state.StatusDeploying, StartedAt: time.Now()})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := ids(s.Running()); len(got) != 2 || !got["api-1"] || !got["web-1"] {
		t.Fatalf("running after two deploys: %v", got)
	}
	_, err := s.Update(ctx, "api", func(svc *state.Service) error {
		d, _ := svc.Deploy("api-1")
		d.Status = state.StatusSucceeded
		svc.UpdateDeploy(d)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(s.Running()); len(got) != 1 || !got["web-1"] {
		t.Fatalf("running after api's deploy ended: %v", got)
	}
	again := state.NewStore(c.Client, ns, "dev")
	if err := again.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if got := ids(again.Running()); len(got) != 1 || !got["web-1"] {
		t.Fatalf("running after a reload: %v", got)
	}
}
