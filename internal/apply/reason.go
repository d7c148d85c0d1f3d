package apply

import (
	"errors"
	"net/http"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// Reasons an object is refused for (besides ReasonNotOwned), as deploys,
// status and Events name them (docs/operator.md).
const (
	// ReasonForbidden: RBAC does not let the operator do it.
	ReasonForbidden = "Forbidden"
	// ReasonQuotaExceeded: a ResourceQuota of the namespace has no room.
	ReasonQuotaExceeded = "QuotaExceeded"
	// ReasonAdmissionDenied: an admission webhook, a
	// ValidatingAdmissionPolicy or another admission plugin (Pod Security,
	// LimitRanger, ...) turned the object down.
	ReasonAdmissionDenied = "AdmissionDenied"
	// ReasonInvalid: the API server refused the object as it is (422, and
	// the other 4xx answers about the object).
	ReasonInvalid = "Invalid"
	// ReasonConflict: the API server answered 409 for a reason a retry
	// does not fix.
	ReasonConflict = "Conflict"
)

// Classify says why err kept an object from being applied, and whether a
// retry may succeed. Transient errors carry no reason: no answer (timeouts,
// connection loss, a cancelled context), 408, 429, 5xx, 401 (credentials
// the client refreshes), a 409 for a concurrent write, and a ResourceQuota
// whose usage is not computed yet. Anything else the API server refuses is
// refused for good, for one of the reasons above; so is an object envop
// does not own (ReasonNotOwned). Errors that are no answer of the API
// server are transient. A Forbidden the API server answers for RBAC is not
// transient here; the controller retries it for a while, since a restarted
// API server answers it until its authorizer is ready (docs/operator.md).
func Classify(err error) (reason string, transient bool) {
	if err == nil {
		return "", false
	}
	var notOwned *NotOwnedError
	if errors.As(err, &notOwned) {
		return ReasonNotOwned, false
	}
	var s apierrors.APIStatus
	if !errors.As(err, &s) {
		return "", true
	}
	st := s.Status()
	if admissionDenial(st.Message) {
		// A webhook's denial carries the code the webhook chose.
		return ReasonAdmissionDenied, false
	}
	switch code := st.Code; {
	case code == http.StatusForbidden:
		return forbidden(st.Message)
	case code == http.StatusConflict:
		if strings.Contains(st.Message, "the object has been modified") {
			return "", true
		}
		return ReasonConflict, false
	case code == http.StatusUnauthorized, code == http.StatusRequestTimeout, code == http.StatusTooManyRequests:
		return "", true
	case code >= 400 && code < 500:
		return ReasonInvalid, false
	default:
		return "", true
	}
}

// admissionDenial recognises the messages of the admission plugins that
// judge objects by rules someone wrote: webhooks, admission policies
// (ValidatingAdmissionPolicy 'NAME' with binding 'NAME' denied request: ...)
// and Pod Security.
func admissionDenial(msg string) bool {
	return strings.Contains(msg, "admission webhook ") && strings.Contains(msg, " denied the request") ||
		strings.Contains(msg, "Policy '") && strings.Contains(msg, " denied request: ") ||
		strings.Contains(msg, "violates PodSecurity ")
}

// forbidden tells the 403s apart: RBAC says `User "..." cannot VERB
// resource ...`; a ResourceQuota says "exceeded quota" (or, before the
// quota controller has computed its usage, "status unknown for quota",
// which a retry fixes); any other 403 comes from an admission plugin
// (LimitRanger, NamespaceLifecycle, ...).
func forbidden(msg string) (string, bool) {
	switch {
	case strings.Contains(msg, "status unknown for quota"):
		return "", true
	case strings.Contains(msg, "exceeded quota"):
		return ReasonQuotaExceeded, false
	case strings.Contains(msg, `User "`) && strings.Contains(msg, " cannot "):
		return ReasonForbidden, false
	case strings.Contains(msg, "forbidden: ") && strings.Contains(msg, ": RBAC: "):
		return ReasonForbidden, false
	default:
		return ReasonAdmissionDenied, false
	}
}
