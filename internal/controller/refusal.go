package controller

import (
	"errors"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/envop/envop/internal/apply"
	"github.com/envop/envop/internal/state"
)

// forbiddenGrace is how long an RBAC refusal of an object is retried
// before it counts: a restarted API server answers 403 until its
// authorizer has filled its caches, for a few seconds, which a Role that
// really lacks a right cannot be told apart from (docs/operator.md).
const forbiddenGrace = 60 * time.Second

// graceError is an RBAC refusal still inside its grace period: retried
// like a transient error, and no deploy fails for it yet.
type graceError struct{ error }

func (e *graceError) Unwrap() error { return e.error }

// streaks remembers, by object, when the current streak of RBAC refusals
// began.
type streaks map[string]time.Time

// observe records the RBAC refusals among the errors err joins, forgets
// the objects no longer refused, and returns err with the refusals still
// inside their grace period marked as graceError.
func (s *streaks) observe(err error, now time.Time) error {
	next := streaks{}
	var out []error
	for _, leaf := range leaves(err) {
		if reason, _ := apply.Classify(leaf); reason == apply.ReasonForbidden {
			key := refusedKey(leaf)
			since, ok := (*s)[key]
			if !ok {
				since = now
			}
			next[key] = since
			if now.Sub(since) < forbiddenGrace {
				leaf = &graceError{leaf}
			}
		}
		out = append(out, leaf)
	}
	*s = next
	return errors.Join(out...)
}

// inGrace says whether err is an RBAC refusal whose streak began less than
// forbiddenGrace before now.
func (s streaks) inGrace(err error, now time.Time) bool {
	since, ok := s[refusedKey(err)]
	return ok && now.Sub(since) < forbiddenGrace
}

// refusedKey names the object an API error is about.
func refusedKey(err error) string {
	var st apierrors.APIStatus
	if errors.As(err, &st) {
		if d := st.Status().Details; d != nil {
			return d.Group + "/" + d.Kind + "/" + d.Name
		}
		return st.Status().Message
	}
	return err.Error()
}

// leaves flattens the errors err joins.
func leaves(err error) []error {
	if err == nil {
		return nil
	}
	joined, ok := err.(interface{ Unwrap() []error })
	if !ok {
		return []error{err}
	}
	var out []error
	for _, e := range joined.Unwrap() {
		out = append(out, leaves(e)...)
	}
	return out
}

// final gives the reason an apply error refuses its object for good
// (apply.Classify), unless a retry may fix it: a transient error, or an
// RBAC refusal inside its grace period.
func (c *Controller) final(err error) (string, bool) {
	reason, transient := apply.Classify(err)
	if transient || reason == "" {
		return "", false
	}
	if reason == apply.ReasonForbidden && c.forbidden.inGrace(err, c.now()) {
		return "", false
	}
	return reason, true
}

// refusedService is the service a failed change keeps from being applied.
func refusedService(ch apply.Change) string {
	var notOwned *apply.NotOwnedError
	if errors.As(ch.Err, &notOwned) {
		return notOwned.Service
	}
	return ch.Service
}

// concerns says whether a refused object keeps deploy d from happening:
// an object of d's service that is not one of its other workloads (the
// other colour of a blue/green service, the Job of another version),
// refused in an apply of d's version (rendered gives the applied versions
// by workload).
func concerns(ch apply.Change, d state.Deploy, rendered map[string]string) bool {
	if refusedService(ch) != d.Service {
		return false
	}
	if v, ok := rendered[d.Workload]; ok && v != d.Version {
		return false // d came after this apply began: not what was refused
	}
	var notOwned *apply.NotOwnedError
	if errors.As(ch.Err, &notOwned) {
		return true
	}
	switch ch.Kind {
	case "Deployment", "StatefulSet", "CronJob", "HorizontalPodAutoscaler":
		return ch.Name == d.Workload
	case "Job":
		return ch.Name == d.Workload || strings.HasPrefix(ch.Name, d.Workload+"-")
	}
	return true
}
