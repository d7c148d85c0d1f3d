package api

import (
	"net/http"
	"strings"

	"github.com/envop/envop/internal/auth"
)

// Bounds of POST /diff: the body (the file and its gists, as JSON), and
// the gist files it may carry.
const (
	maxDiffBody  = 4 << 20
	maxDiffGists = 256
)

// The actions of a DiffChange.
const (
	DiffCreate    = "create"
	DiffUpdate    = "update"
	DiffDelete    = "delete"
	DiffUnchanged = "unchanged"
)

// DiffRequest is the body of POST /diff: a manifest, and the files its
// gists name by path in the repository.
type DiffRequest struct {
	File  string            `json:"file"`
	Gists map[string]string `json:"gists,omitempty"`
}

// DiffChange is what a sync of the file would do to one object.
type DiffChange struct {
	Kind string `json:"kind"`
	Name string `json:"name"`
	// Service is the object's service; empty for objects of the whole
	// environment.
	Service string `json:"service,omitempty"`
	Action  string `json:"action"`
	// Diff is a unified diff of the compared fields for an update, the
	// object's fields for a create; values of Secrets are masked.
	Diff string `json:"diff,omitempty"`
}

// DiffFailure is an object that could not be compared.
type DiffFailure struct {
	Kind    string `json:"kind"`
	Name    string `json:"name"`
	Service string `json:"service,omitempty"`
	Error   string `json:"error"`
}

// DiffAnswer is the answer of POST /diff.
type DiffAnswer struct {
	Changes []DiffChange  `json:"changes"`
	Failed  []DiffFailure `json:"failed,omitempty"`
	// Notes tell of objects a sync leaves alone though the file no longer
	// renders them (claims kept, a file suddenly listing nothing).
	Notes []string `json:"notes,omitempty"`
}

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
