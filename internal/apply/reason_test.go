package apply

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// TestClassify over the answers the API server gives, in the shapes it
// gives them (TestClassifyRealAnswers checks the messages on the plane).
func TestClassify(t *testing.T) {
	deployments := schema.GroupResource{Group: "apps", Resource: "deployments"}
	pods := schema.GroupResource{Resource: "pods"}
	forbidden := func(gr schema.GroupResource, msg string) error {
		return apierrors.NewForbidden(gr, "web", errors.New(msg))
	}
	status := func(code int32, reason metav1.StatusReason, msg string) error {
		return &apierrors.StatusError{ErrStatus: metav1.Status{Status: metav1.StatusFailure, Code: code, Reason: reason, Message: msg}}
	}
	const rbac = `User "system:serviceaccount:shop:envop" cannot patch resource "deployments" in API group "apps" in the namespace "shop"`
	for _, tt := range []struct {
		name      string
		err       error
		reason    string
		transient bool
	}{
		{"rbac", forbidden(deployments, rbac), ReasonForbidden, false},
		{"rbac while the authorizer fills its caches", forbidden(deployments, rbac+`: RBAC: role.rbac.authorization.k8s.io "envop" not found`), ReasonForbidden, false},
		{"quota", forbidden(deployments, "exceeded quota: deployments, requested: count/deployments.apps=1, used: count/deployments.apps=0, limited: count/deployments.apps=0"), ReasonQuotaExceeded, false},
		{"quota not computed yet", forbidden(deployments, "status unknown for quota: deployments, resources: count/deployments.apps"), "", true},
		{"admission policy", forbidden(deployments, "ValidatingAdmissionPolicy 'deny-tag' with binding 'deny-tag' denied request: images tagged bad may not run in this namespace"), ReasonAdmissionDenied, false},
		{"admission policy without a reason", status(http.StatusUnprocessableEntity, metav1.StatusReasonInvalid, `deployments.apps "web" is forbidden: ValidatingAdmissionPolicy 'deny-tag' with binding 'deny-tag' denied request: no`), ReasonAdmissionDenied, false},
		{"webhook", status(http.StatusForbidden, "", `admission webhook "deny.envop.test" denied the request: web is frozen`), ReasonAdmissionDenied, false},
		{"webhook with a code of its own", status(http.StatusInternalServerError, "", `admission webhook "deny.envop.test" denied the request without explanation`), ReasonAdmissionDenied, false},
		{"webhook unreachable", apierrors.NewInternalError(errors.New(`failed calling webhook "deny.envop.test": connection refused`)), "", true},
		{"pod security", forbidden(pods, `violates PodSecurity "restricted:latest": runAsNonRoot != true`), ReasonAdmissionDenied, false},
		{"limit range", forbidden(pods, "maximum cpu usage per Container is 1, but limit is 2"), ReasonAdmissionDenied, false},
		{"invalid", apierrors.NewInvalid(schema.GroupKind{Group: "apps", Kind: "Deployment"}, "web", nil), ReasonInvalid, false},
		{"bad request", apierrors.NewBadRequest("no"), ReasonInvalid, false},
		{"too large", apierrors.NewRequestEntityTooLargeError("limit is 3145728"), ReasonInvalid, false},
		{"conflict", apierrors.NewConflict(deployments, "web", errors.New("field manager")), ReasonConflict, false},
		{"already exists", apierrors.NewAlreadyExists(deployments, "web"), ReasonConflict, false},
		{"modified meanwhile", apierrors.NewConflict(deployments, "web", errors.New("the object has been modified; please apply your changes to the latest version and try again")), "", true},
		{"not owned", fmt.Errorf("apply: %w", &NotOwnedError{Kind: "Deployment", Name: "web", Service: "web"}), ReasonNotOwned, false},
		{"unauthorized", apierrors.NewUnauthorized("token expired"), "", true},
		{"too many requests", apierrors.NewTooManyRequests("slow down", 1), "", true},
		{"timeout", apierrors.NewTimeoutError("slow", 1), "", true},
		{"server timeout", apierrors.NewServerTimeout(deployments, "patch", 1), "", true},
		{"server error", apierrors.NewInternalError(errors.New("etcd")), "", true},
		{"unavailable", apierrors.NewServiceUnavailable("starting"), "", true},
		{"no answer", errors.New("dial tcp 127.0.0.1:6443: connect: connection refused"), "", true},
		{"deadline", fmt.Errorf("apply Deployment web: %w", context.DeadlineExceeded), "", true},
		{"wrapped", fmt.Errorf("apply Deployment web: %w", forbidden(deployments, "exceeded quota: q")), ReasonQuotaExceeded, false},
		{"nil", nil, "", false},
	} {
		reason, transient := Classify(tt.err)
		if reason != tt.reason || transient != tt.transient {
			t.Errorf("%s: Classify = %q, transient %v; want %q, %v", tt.name, reason, transient, tt.reason, tt.transient)
		}
	}
}
