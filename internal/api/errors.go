package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/envop/envop/internal/apitypes"
	"github.com/envop/envop/internal/auth"
	"github.com/envop/envop/internal/controller"
)

// httpError is an error with the status code and message the client gets.
type httpError struct {
	code int
	msg  string
	// retryAfter, when set, becomes a Retry-After header.
	retryAfter time.Duration
}

func (e *httpError) Error() string { return e.msg }

func errorf(code int, format string, args ...any) error {
	return &httpError{code: code, msg: fmt.Sprintf(format, args...)}
}

// classify maps an error to what the client is told. Errors the API does
// not know become a 500 whose detail stays in the log.
func classify(err error) *httpError {
	var he *httpError
	var rl *auth.RateLimitError
	switch {
	case errors.As(err, &he):
		return he
	case errors.As(err, &rl):
		return &httpError{code: http.StatusTooManyRequests, msg: err.Error(), retryAfter: rl.RetryAfter}
	case errors.Is(err, auth.ErrUnauthenticated):
		return &httpError{code: http.StatusUnauthorized, msg: err.Error()}
	case errors.Is(err, auth.ErrForbidden):
		return &httpError{code: http.StatusForbidden, msg: err.Error()}
	case errors.Is(err, auth.ErrUnavailable), errors.Is(err, controller.ErrNotReady):
		return &httpError{code: http.StatusServiceUnavailable, msg: err.Error()}
	case errors.Is(err, controller.ErrUnknownService):
		return &httpError{code: http.StatusNotFound, msg: err.Error()}
	case errors.Is(err, controller.ErrInvalid):
		return &httpError{code: http.StatusUnprocessableEntity, msg: err.Error()}
	case errors.Is(err, controller.ErrConflict):
		return &httpError{code: http.StatusConflict, msg: err.Error()}
	default:
		return &httpError{code: http.StatusInternalServerError, msg: "internal error"}
	}
}

func writeError(w http.ResponseWriter, he *httpError) {
	if he.code == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="envop"`)
	}
	if he.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(he.retryAfter.Seconds()+0.999)))
	}
	writeJSON(w, he.code, apitypes.Error{Code: he.code, Message: he.msg})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	// Compact: a third cheaper to encode than indented, and `jq` reads it.
	_ = json.NewEncoder(w).Encode(v)
}
