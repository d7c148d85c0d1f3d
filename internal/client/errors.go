package client

import (
	"errors"
	"fmt"
	"net/http"
)

// APIError is an answer of the server that is not a success: a request
// refused (4xx) or a server error (5xx).
type APIError struct {
	Status  int
	Message string
	// Method and Path name the request, never its query or credentials.
	Method string
	Path   string
}

func (e *APIError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	return fmt.Sprintf("%s %s: %d %s: %s", e.Method, e.Path, e.Status, http.StatusText(e.Status), msg)
}

// ServerError reports whether the server failed (5xx) rather than refused.
func (e *APIError) ServerError() bool { return e.Status >= 500 }

// UnreachableError means no answer came from the endpoint: the connection
// was refused, the name did not resolve, the TLS handshake failed or the
// request timed out.
type UnreachableError struct {
	// Endpoint is the base URL, without user information.
	Endpoint string
	Err      error
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("endpoint %s unreachable: %v", e.Endpoint, e.Err)
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// IsUnreachable reports whether err means the endpoint did not answer.
func IsUnreachable(err error) bool {
	var u *UnreachableError
	return errors.As(err, &u)
}

// StatusCode returns the HTTP status of an *APIError in err's chain, or 0.
func StatusCode(err error) int {
	var e *APIError
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}
