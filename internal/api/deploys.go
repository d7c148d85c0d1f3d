package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/envop/envop/internal/apitypes"
	"github.com/envop/envop/internal/controller"
	"github.com/envop/envop/internal/state"
)

// Deploy is a deploy as the API shows it (and the client reads it).
type Deploy = apitypes.Deploy

func viewOf(d state.Deploy) Deploy {
	v := Deploy{
		ID: d.ID, Service: d.Service, Workload: d.Workload, Version: d.Version, Status: d.Status,
		Reason: d.Reason, Message: d.Message, Actor: d.Actor, Source: d.Source, StartedAt: d.StartedAt,
	}
	if !d.FinishedAt.IsZero() {
		t := d.FinishedAt
		v.FinishedAt = &t
	}
	return v
}

// decode reads a bounded JSON body into v, refusing unknown fields and
// trailing data. The body must be declared application/json: the types a
// browser sends cross-origin without asking first (forms, text/plain) are
// refused with 415, so no other site can make a signed-in page post here.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	return decodeBounded(w, r, v, maxBody)
}

// decodeBounded is decode with a body of at most limit bytes.
func decodeBounded(w http.ResponseWriter, r *http.Request, v any, limit int64) error {
	ct := r.Header.Get("Content-Type")
	if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
		if ct == "" {
			return errorf(http.StatusUnsupportedMediaType, "no content type: send the body as application/json (curl: -H 'Content-Type: application/json')")
		}
		return errorf(http.StatusUnsupportedMediaType, "content type %q: send application/json", ct)
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		// Anything but the end of the body after the object is an error,
		// including a stray '}' or ']' that dec.More would not see.
		if _, err = dec.Token(); err == io.EOF {
			return nil
		} else if err == nil {
			err = errors.New("data after the object")
		}
	}
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return errorf(http.StatusRequestEntityTooLarge, "request body larger than %d bytes", limit)
	case errors.Is(err, io.EOF):
		return errorf(http.StatusBadRequest, "request body is empty: send a JSON object")
	default:
		return errorf(http.StatusBadRequest, "malformed JSON body: %v", err)
	}
}

func (s *server) deploy(w http.ResponseWriter, r *http.Request) error {
	return s.startDeploy(w, r, s.Backend.Deploy, true)
}

func (s *server) rollback(w http.ResponseWriter, r *http.Request) error {
	return s.startDeploy(w, r, s.Backend.Rollback, false)
}

func (s *server) startDeploy(w http.ResponseWriter, r *http.Request, start func(context.Context, controller.DeployRequest) (state.Deploy, error), needVersion bool) error {
	var body apitypes.DeployRequest
	if err := decode(w, r, &body); err != nil {
		return err
	}
	if strings.TrimSpace(body.Name) == "" {
		return errorf(http.StatusBadRequest, "name is required")
	}
	if err := permit(r, body.Name); err != nil {
		return err
	}
	if needVersion && strings.TrimSpace(body.Version) == "" {
		return errorf(http.StatusBadRequest, "version is required")
	}
	d, err := start(r.Context(), controller.DeployRequest{
		Service: body.Name, Version: body.Version, Application: body.Application, Caller: caller(r),
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, viewOf(d))
	return nil
}

func (s *server) getDeploy(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	wait, err := waitParam(r)
	if err != nil {
		return err
	}
	d, ok := s.Backend.GetDeploy(id)
	if !ok {
		return errorf(http.StatusNotFound, "no deploy %q", id)
	}
	if err := permit(r, d.Service); err != nil {
		return err
	}
	if wait > 0 && !d.Done() {
		ctx, cancel := contextWithTimeout(r, wait)
		defer cancel()
		// A deploy that vanished meanwhile (dropped from a full history)
		// is shown as last seen.
		if cur, ok := s.Backend.WaitDeploy(ctx, id); ok {
			d = cur
		}
	}
	writeJSON(w, http.StatusOK, viewOf(d))
	return nil
}

// waitParam reads ?wait=DURATION (a Go duration, or seconds), capped.
func waitParam(r *http.Request) (time.Duration, error) {
	q, err := query(r)
	if err != nil {
		return 0, err
	}
	raw := q.Get("wait")
	if raw == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(raw)
	if err != nil {
		secs, err2 := time.ParseDuration(raw + "s")
		if err2 != nil {
			return 0, errorf(http.StatusBadRequest, "wait=%q: want a duration such as 30s or 5m", raw)
		}
		d = secs
	}
	if d < 0 {
		return 0, errorf(http.StatusBadRequest, "wait=%q: must not be negative", raw)
	}
	return min(d, maxWait), nil
}

func (s *server) promote(w http.ResponseWriter, r *http.Request) error {
	var body apitypes.PromoteRequest
	if err := decode(w, r, &body); err != nil {
		return err
	}
	if strings.TrimSpace(body.Name) == "" {
		return errorf(http.StatusBadRequest, "name is required")
	}
	if err := permit(r, body.Name); err != nil {
		return err
	}
	active, err := s.Backend.Promote(r.Context(), body.Name, caller(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, apitypes.Promotion{Service: body.Name, Active: active})
	return nil
}
