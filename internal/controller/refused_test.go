package controller

import (
	"errors"
	"fmt"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/envop/envop/internal/apply"
	"github.com/envop/envop/internal/state"
)

var deployments = schema.GroupResource{Group: "apps", Resource: "deployments"}

func rbacRefusal(name string) error {
	return fmt.Errorf("apply Deployment %s: %w", name, apierrors.NewForbidden(deployments, name,
		errors.New(`User "system:serviceaccount:shop:envop" cannot patch resource "deployments" in API group "apps" in the namespace "shop"`)))
}

// TestRetryableRefusals: only what apply.Classify calls transient is retried, and
// RBAC refusals during their grace period; the joined errors of a sync are
// retried when any one of them is.
func TestRetryableRefusals(t *testing.T) {
	quota := apierrors.NewForbidden(deployments, "web", errors.New("exceeded quota: q"))
	for _, tt := range []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"invalid revision", &InvalidError{Err: errors.New("bad file")}, false},
		{"quota", quota, false},
		{"not owned", &apply.NotOwnedError{Kind: "Deployment", Name: "web", Service: "web"}, false},
		{"rbac after its grace", rbacRefusal("web"), false},
		{"rbac in its grace", &graceError{rbacRefusal("web")}, true},
		{"no answer", errors.New("connection refused"), true},
		{"server error", apierrors.NewInternalError(errors.New("etcd")), true},
		{"refused and transient", errors.Join(quota, apierrors.NewTooManyRequests("slow", 1)), true},
		{"all refused", errors.Join(quota, errors.Join(rbacRefusal("web"))), false},
	} {
		if got := retryable(tt.err); got != tt.want {
			t.Errorf("%s: retryable = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestForbiddenGrace: an object's RBAC refusals are retried for
// forbiddenGrace from the first of a streak, then count; a streak ends
// when the object is no longer refused, and each object has its own.
func TestForbiddenGrace(t *testing.T) {
	var s streaks
	t0 := time.Now()
	quota := apierrors.NewForbidden(deployments, "api", errors.New("exceeded quota: q"))
	err := s.observe(errors.Join(rbacRefusal("web"), quota), t0)
	if !retryable(err) || !s.inGrace(rbacRefusal("web"), t0) {
		t.Fatalf("a first RBAC refusal is not retried: %v", err)
	}
	if got := leaves(err); len(got) != 2 || got[1] != quota {
		t.Fatalf("leaves after observe = %v", got)
	}
	if err := s.observe(rbacRefusal("web"), t0.Add(forbiddenGrace-time.Second)); !retryable(err) {
		t.Fatal("an RBAC refusal within its grace period is not retried")
	}
	late := t0.Add(forbiddenGrace + time.Second)
	err = s.observe(errors.Join(rbacRefusal("web"), rbacRefusal("worker")), late)
	if s.inGrace(rbacRefusal("web"), late) || !s.inGrace(rbacRefusal("worker"), late) {
		t.Fatalf("after the grace: web in grace %v, worker (new streak) in grace %v", s.inGrace(rbacRefusal("web"), late), s.inGrace(rbacRefusal("worker"), late))
	}
	if !retryable(err) {
		t.Fatal("the new streak of worker is not retried")
	}
	if retryable(s.observe(rbacRefusal("web"), late)) {
		t.Fatal("an RBAC refusal past its grace period is retried")
	}
	// web applied: its streak ends; the next refusal starts a new one.
	s.observe(nil, late)
	if err := s.observe(rbacRefusal("web"), late.Add(time.Second)); !retryable(err) {
		t.Fatal("a new streak is not retried")
	}
}

// TestConcerns: a refusal fails the deploys of its service, except those
// to another workload of it and those of a version the refused apply did
// not render (a deploy accepted while it ran).
func TestConcerns(t *testing.T) {
	d := state.Deploy{Service: "web", Workload: "web-blue", Version: "1.2.0"}
	at := map[string]string{"web-blue": "1.2.0", "web-green": "1.1.0"}
	refused := errors.New("refused")
	for _, tt := range []struct {
		ch       apply.Change
		rendered map[string]string
		want     bool
	}{
		{apply.Change{Kind: "Deployment", Name: "web-blue", Service: "web", Err: refused}, at, true},
		{apply.Change{Kind: "Deployment", Name: "web-green", Service: "web", Err: refused}, at, false},
		{apply.Change{Kind: "HorizontalPodAutoscaler", Name: "web-green", Service: "web", Err: refused}, at, false},
		{apply.Change{Kind: "ConfigMap", Name: "web-config", Service: "web", Err: refused}, at, true},
		{apply.Change{Kind: "Service", Name: "web", Service: "web", Err: refused}, at, true},
		{apply.Change{Kind: "Job", Name: "web-blue-1-0", Service: "web", Err: refused}, at, true},
		{apply.Change{Kind: "Deployment", Name: "web-blue", Service: "api", Err: refused}, at, false},
		{apply.Change{Kind: "Service", Name: "web", Err: &apply.NotOwnedError{Kind: "Service", Name: "web", Service: "web"}}, at, true},
		// The apply rendered 6.6.6, refused; d (1.2.0) came during it.
		{apply.Change{Kind: "Deployment", Name: "web-blue", Service: "web", Err: refused}, map[string]string{"web-blue": "6.6.6"}, false},
		{apply.Change{Kind: "ConfigMap", Name: "web-config", Service: "web", Err: refused}, map[string]string{"web-blue": "6.6.6"}, false},
		// No version rendered for the workload: the file's, d's judged by it.
		{apply.Change{Kind: "Deployment", Name: "web-blue", Service: "web", Err: refused}, nil, true},
	} {
		if got := concerns(tt.ch, d, tt.rendered); got != tt.want {
			t.Errorf("concerns(%s %s of %s, rendered %v) = %v, want %v", tt.ch.Kind, tt.ch.Name, tt.ch.Service, tt.rendered, got, tt.want)
		}
	}
}
