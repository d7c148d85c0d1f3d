package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/envop/envop/internal/apitypes"
	"github.com/envop/envop/internal/audit"
	"github.com/envop/envop/internal/auth"
	"github.com/envop/envop/internal/status"
)

// versioned is a Backend that can say when its status changed; the
// encoded answer is then reused until it does.
type versioned interface {
	StatusVersion() uint64
}

// statusCache holds the last status view, encoded, and the version it was
// built at (read before building, so a change during the build is seen by
// the next request).
type statusCache struct {
	mu      sync.Mutex
	valid   bool
	version uint64
	view    status.Environment
	body    []byte
}

// current returns the status view and its JSON encoding, built again only
// when a versioned backend says something changed.
func (s *server) current() (status.Environment, []byte, error) {
	v, ok := s.Backend.(versioned)
	if !ok {
		return encoded(s.Backend.Status())
	}
	ver := v.StatusVersion()
	s.cache.mu.Lock()
	if s.cache.valid && s.cache.version == ver {
		view, body := s.cache.view, s.cache.body
		s.cache.mu.Unlock()
		return view, body, nil
	}
	s.cache.mu.Unlock()
	view, body, err := encoded(s.Backend.Status())
	if err != nil {
		return view, nil, err
	}
	s.cache.mu.Lock()
	s.cache.valid, s.cache.version, s.cache.view, s.cache.body = true, ver, view, body
	s.cache.mu.Unlock()
	return view, body, nil
}

func encoded(view status.Environment) (status.Environment, []byte, error) {
	data, err := json.Marshal(view)
	if err != nil {
		return view, nil, fmt.Errorf("encode status: %w", err)
	}
	return view, append(data, '\n'), nil
}

// status answers the whole environment to a caller who may view every
// service (the cached body), and only its services to one who may not.
func (s *server) status(w http.ResponseWriter, r *http.Request) error {
	view, body, err := s.current()
	if err != nil {
		return err
	}
	if p := principal(r); !p.AllowsEverywhere(auth.RoleView) {
		if _, body, err = encoded(status.Only(view, func(svc string) bool { return p.Allows(auth.RoleView, svc) })); err != nil {
			return err
		}
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	_, err = w.Write(body)
	return err
}

func (s *server) findService(name string) (status.Service, error) {
	view, _, err := s.current()
	if err != nil {
		return status.Service{}, err
	}
	for _, svc := range view.Services {
		if svc.Name == name {
			return svc, nil
		}
	}
	return status.Service{}, errorf(http.StatusNotFound, "unknown service %q", name)
}

func (s *server) serviceStatus(w http.ResponseWriter, r *http.Request) error {
	if err := permit(r, r.PathValue("service")); err != nil {
		return err
	}
	svc, err := s.findService(r.PathValue("service"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, svc)
	return nil
}

func (s *server) pods(w http.ResponseWriter, r *http.Request) error {
	if err := permit(r, r.PathValue("service")); err != nil {
		return err
	}
	svc, err := s.findService(r.PathValue("service"))
	if err != nil {
		return err
	}
	lines, err := intParam(r, "lines", defLogLines, 1, maxLogLines)
	if err != nil {
		return err
	}
	pods, err := s.Backend.Pods(r.Context(), svc.Name, int64(lines))
	if err != nil {
		return err
	}
	if pods == nil {
		pods = []Pod{}
	}
	writeJSON(w, http.StatusOK, apitypes.Pods{Pods: pods})
	return nil
}

func (s *server) audit(w http.ResponseWriter, r *http.Request) error {
	limit, err := intParam(r, "limit", defAuditRows, 1, maxAuditRows)
	if err != nil {
		return err
	}
	q, err := query(r)
	if err != nil {
		return err
	}
	service := q.Get("service")
	if service != "" {
		if err := permit(r, service); err != nil {
			return err
		}
	}
	var records []audit.Record
	if p := principal(r); p.AllowsEverywhere(auth.RoleView) {
		records = s.Backend.Audit(service, limit)
	} else {
		// Only the caller's services; records about the whole environment
		// (syncs, webhooks) may speak of any service. Every record is
		// fetched (0: no limit), so that filtering still fills the limit.
		records = slices.DeleteFunc(s.Backend.Audit(service, 0), func(rec audit.Record) bool {
			return rec.Service == "" || !p.Allows(auth.RoleView, rec.Service)
		})
	}
	records = records[:min(len(records), limit)]
	writeJSON(w, http.StatusOK, auditView(records))
	return nil
}

// intParam reads a whole-number query parameter: def when absent, a 400
// below lo, and hi for anything above it (as wait= is capped).
func intParam(r *http.Request, name string, def, lo, hi int) (int, error) {
	q, err := query(r)
	if err != nil {
		return 0, err
	}
	raw := q.Get(name)
	if raw == "" {
		return def, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < lo {
		return 0, errorf(http.StatusBadRequest, "%s=%q: want a whole number of at least %d (above %d counts as %d)", name, raw, lo, hi, hi)
	}
	return min(n, hi), nil
}

func contextWithTimeout(r *http.Request, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), d)
}

// query parses the query string; one that cannot be decoded is a 400, never
// silently a query without the filter it meant to carry.
func query(r *http.Request) (url.Values, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, errorf(http.StatusBadRequest, "malformed query string: %v", err)
	}
	return q, nil
}

// auditView is records as the API shows them, an empty list rather than
// null. A record converts field for field: one added to audit.Record does
// not compile here until the API's type says whether clients see it.
func auditView(records []audit.Record) []apitypes.AuditRecord {
	out := make([]apitypes.AuditRecord, len(records))
	for i, r := range records {
		out[i] = apitypes.AuditRecord(r)
	}
	return out
}
