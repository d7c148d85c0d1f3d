package controller

import (
	"errors"
	"fmt"
	"testing"

	"github.com/envop/envop/internal/apply"
	"github.com/envop/envop/internal/manifest"
)

// TestRetryable: a revision that cannot be applied, or a service refused
// because an object in its way is not envop's, is not retried; anything
// else among the failures is.
func TestRetryable(t *testing.T) {
	notOwned := &apply.NotOwnedError{Kind: "Service", Name: "web", Service: "web"}
	transient := errors.New("connection refused")
	for _, tt := range []struct {
		name string
		err  error
		want bool
	}{
		{"none", nil, false},
		{"invalid", &InvalidError{Err: errors.New("bad")}, false},
		{"not owned", notOwned, false},
		{"not owned, joined", errors.Join(errors.Join(notOwned, nil), nil), false},
		{"not owned and transient", errors.Join(errors.Join(notOwned), transient), true},
		{"transient", fmt.Errorf("apply: %w", transient), true},
	} {
		if got := retryable(tt.err); got != tt.want {
			t.Errorf("%s: retryable = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestPolicyBindsItsOwnEnvironment: the installer's policy of one
// operator refuses references in its environment only.
func TestPolicyBindsItsOwnEnvironment(t *testing.T) {
	file := `environments:
  - name: dev
    namespace: dev
    services:
      - name: web
        env: [{name: T, secret: ci-token, key: t}]
  - name: prod
    namespace: prod
    services:
      - name: web
        env: [{name: T, secret: ci-token, key: t}]
`
	f, diags := manifest.Load("environments.bitesize", []byte(file))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	policy := manifest.Policy{OwnSecrets: []string{"ci-token"}}
	all := policy.Check(f)
	dev := within(f.Environment("dev"), all)
	if len(all) != 2 || len(dev) != 1 || dev[0].Line != 6 {
		t.Errorf("all: %v; dev's: %v", all, dev)
	}
}
