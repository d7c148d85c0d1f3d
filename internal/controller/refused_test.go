package controller

import (
	"errors"
	"fmt"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// TestRefused: only answers that judge the object end a deploy at once;
// the operator's rights, throttling, timeouts and no answer are retried.
func TestRefused(t *testing.T) {
	gr := schema.GroupResource{Group: "apps", Resource: "deployments"}
	for _, tt := range []struct {
		name string
		err  error
		want bool
	}{
		{"invalid", apierrors.NewInvalid(schema.GroupKind{Group: "apps", Kind: "Deployment"}, "web", nil), true},
		{"bad request", apierrors.NewBadRequest("no"), true},
		{"conflict", apierrors.NewConflict(gr, "web", errors.New("field manager")), true},
		{"forbidden", apierrors.NewForbidden(gr, "web", errors.New("RBAC: role not found")), false},
		{"unauthorized", apierrors.NewUnauthorized("token expired"), false},
		{"too many requests", apierrors.NewTooManyRequests("slow down", 1), false},
		{"timeout", apierrors.NewTimeoutError("slow", 1), false},
		{"server error", apierrors.NewInternalError(errors.New("etcd")), false},
		{"no answer", errors.New("dial tcp 127.0.0.1:6443: connect: connection refused"), false},
		{"wrapped", fmt.Errorf("apply Deployment web: %w", apierrors.NewInvalid(schema.GroupKind{Kind: "Deployment"}, "web", nil)), true},
	} {
		if got := refused(tt.err); got != tt.want {
			t.Errorf("%s: refused = %v, want %v", tt.name, got, tt.want)
		}
	}
}
