package controller

import (
	"errors"
	"fmt"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/envop/envop/internal/apply"
	"github.com/envop/envop/internal/manifest"
	"github.com/envop/envop/internal/render"
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

// TestAdoption: only the objects of services with adopt: true may be taken
// over, never a gist or an access object named like them.
func TestAdoption(t *testing.T) {
	env := &manifest.Environment{Services: []manifest.Service{{Name: "web", Adopt: true}, {Name: "api"}}}
	obj := func(service string, labels map[string]string, annotations map[string]string) *unstructured.Unstructured {
		u := &unstructured.Unstructured{Object: map[string]any{}}
		l := map[string]string{render.LabelName: service}
		for k, v := range labels {
			l[k] = v
		}
		u.SetLabels(l)
		u.SetAnnotations(annotations)
		return u
	}
	adopt := adoption(env)
	for _, tt := range []struct {
		name string
		obj  *unstructured.Unstructured
		want bool
	}{
		{"service with adopt", obj("web", nil, nil), true},
		{"service without", obj("api", nil, nil), false},
		{"gist named like it", obj("web", nil, map[string]string{render.AnnotationContentHash: "x"}), false},
		{"access object", obj("web", map[string]string{render.LabelAccess: "view"}, nil), false},
	} {
		if got := adopt(tt.obj); got != tt.want {
			t.Errorf("%s: adopt = %v, want %v", tt.name, got, tt.want)
		}
	}
	if adoption(&manifest.Environment{Services: []manifest.Service{{Name: "api"}}}) != nil {
		t.Error("no service adopts: want a nil Adopt")
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
