package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"regexp"
	"runtime/debug"
	"time"

	"github.com/envop/envop/internal/auth"
	"github.com/envop/envop/internal/controller"
)

type ctxKey int

const (
	principalKey ctxKey = iota
	requestIDKey
	actorKey
	needKey
	addressKey
)

// handlerFunc is a handler that returns its error instead of writing it.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// handle turns a handler's error into its response and logs it.
func (s *server) handle(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := h(w, r)
		if err == nil {
			return
		}
		he := classify(err)
		if he.code >= 500 {
			s.Log.Error("request failed", "request_id", requestID(r), "method", r.Method, "path", r.URL.Path, "error", err)
		}
		writeError(w, he)
	})
}

// with authenticates the caller and requires role over at least one
// service before running h; h checks the service it acts on with permit.
func (s *server) with(role auth.Role, h handlerFunc) http.Handler {
	return s.handle(func(w http.ResponseWriter, r *http.Request) error {
		if s.Auth == nil {
			return errorf(http.StatusUnauthorized, "authentication is not configured: set --auth-token-file or --oidc-issuer-url")
		}
		p, err := s.Auth.Authenticate(r)
		if err != nil {
			return err
		}
		if !p.AllowsAny(role) {
			return errorf(http.StatusForbidden, "%s may not do this: it needs the %s role", p.Name, role)
		}
		if actor, ok := r.Context().Value(actorKey).(*string); ok {
			*actor = p.Name
		}
		ctx := context.WithValue(context.WithValue(r.Context(), principalKey, p), needKey, role)
		return h(w, r.WithContext(ctx))
	})
}

func principal(r *http.Request) auth.Principal {
	p, _ := r.Context().Value(principalKey).(auth.Principal)
	return p
}

// permit checks that the caller holds the route's role over service: a
// service outside its scope is a 403 that names it, whether or not the
// service exists, so that a scope cannot be used to list the others.
func permit(r *http.Request, service string) error {
	p := principal(r)
	need, _ := r.Context().Value(needKey).(auth.Role)
	if p.Allows(need, service) {
		return nil
	}
	return errorf(http.StatusForbidden, "%s may not act on service %q: it is outside its scope (the %s role is needed over it)", p.Name, service, need)
}

// caller is who the audit records for r.
func caller(r *http.Request) controller.Caller {
	return controller.Caller{Actor: principal(r).Name, Address: clientAddress(r)}
}

func clientAddress(r *http.Request) string {
	a, _ := r.Context().Value(addressKey).(string)
	return a
}

// statusWriter remembers the status code for the access log.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

var safeRequestID = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// middleware adds request ids, security headers, panic recovery and an
// access log line per request.
func (s *server) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-Id")
		if !safeRequestID.MatchString(id) {
			id = newRequestID()
		}
		var actor string
		addr := auth.ClientAddr(r, s.TrustedProxies)
		ctx := context.WithValue(r.Context(), requestIDKey, id)
		ctx = context.WithValue(ctx, addressKey, addr)
		r = r.WithContext(context.WithValue(ctx, actorKey, &actor))
		h := w.Header()
		h.Set("X-Request-Id", id)
		h.Set("X-Content-Type-Options", "nosniff")
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v) // the server's way to drop a response; it logs nothing
				}
				s.Log.Error("handler panicked", "request_id", id, "method", r.Method, "path", r.URL.Path,
					"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				if sw.code == 0 {
					writeError(sw, &httpError{code: http.StatusInternalServerError, msg: "internal error"})
				}
			}
			s.Log.Debug("request", "request_id", id, "method", r.Method, "path", r.URL.Path,
				"status", sw.code, "duration", time.Since(start), "actor", actor, "client", addr)
		}()
		next.ServeHTTP(sw, r)
	})
}

func requestID(r *http.Request) string {
	id, _ := r.Context().Value(requestIDKey).(string)
	return id
}

func newRequestID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
