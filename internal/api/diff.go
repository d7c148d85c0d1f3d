package api

import (
	"net/http"
	"strings"

	"github.com/envop/envop/internal/apitypes"
	"github.com/envop/envop/internal/auth"
)

// Bounds of POST /diff: the body (the file and its gists, as JSON), and
// the gist files it may carry.
const (
	maxDiffBody  = 4 << 20
	maxDiffGists = 256
)

// The body, answer and actions of POST /diff are the wire types
// (package apitypes).
type (
	DiffRequest = apitypes.DiffRequest
	DiffChange  = apitypes.DiffChange
	DiffFailure = apitypes.DiffFailure
	DiffAnswer  = apitypes.DiffAnswer
)

// The actions of a DiffChange.
const (
	DiffCreate    = apitypes.DiffCreate
	DiffUpdate    = apitypes.DiffUpdate
	DiffDelete    = apitypes.DiffDelete
	DiffUnchanged = apitypes.DiffUnchanged
)

// diff answers what a sync of the file sent would change. A caller whose
// scope is limited sees the objects of its services only, and is refused
// (403) when the file would change, or could not compare, an object
// outside its scope (another service's, or one of the whole environment):
// it neither sees what others' objects hold nor gets a "no changes" that
// is not true of the file.
func (s *server) diff(w http.ResponseWriter, r *http.Request) error {
	var body DiffRequest
	if err := decodeBounded(w, r, &body, maxDiffBody); err != nil {
		return err
	}
	if strings.TrimSpace(body.File) == "" {
		return errorf(http.StatusBadRequest, "file is required: the content of the manifest")
	}
	if len(body.Gists) > maxDiffGists {
		return errorf(http.StatusRequestEntityTooLarge, "%d gist files: at most %d", len(body.Gists), maxDiffGists)
	}
	ans, err := s.Backend.Diff(r.Context(), body)
	if err != nil {
		return err
	}
	p := principal(r)
	if p.AllowsEverywhere(auth.RoleView) {
		writeJSON(w, http.StatusOK, ans)
		return nil
	}
	scoped, outside := inScope(p, ans)
	if outside > 0 {
		return errorf(http.StatusForbidden, "%s may not diff this file: it changes %d objects outside its scope (a token whose scope covers every service the file changes is needed)", p.Name, outside)
	}
	writeJSON(w, http.StatusOK, scoped)
	return nil
}

// inScope keeps the changes and failures of the services p may view, and
// counts those outside that are not unchanged. Notes name objects of any
// service, so they are left out.
func inScope(p auth.Principal, ans DiffAnswer) (DiffAnswer, int) {
	out := DiffAnswer{Changes: []DiffChange{}}
	outside := 0
	for _, c := range ans.Changes {
		switch {
		case p.Allows(auth.RoleView, c.Service):
			out.Changes = append(out.Changes, c)
		case c.Action != DiffUnchanged:
			outside++
		}
	}
	for _, f := range ans.Failed {
		if p.Allows(auth.RoleView, f.Service) {
			out.Failed = append(out.Failed, f)
		} else {
			outside++
		}
	}
	return out, outside
}
