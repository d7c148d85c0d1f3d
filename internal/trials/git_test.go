package trials

import (
	"testing"

	"github.com/envop/envop/internal/testgit"
)

// repo is the trials' git work tree, optionally pushing to a bare
// repository that a testgit server serves.
type repo struct{ *testgit.Repo }

// newRepo makes a work tree; with bare, also a bare repository it pushes to.
func newRepo(t *testing.T, bare bool) *repo {
	t.Helper()
	if bare {
		return &repo{testgit.NewRepo(t)}
	}
	return &repo{testgit.NewWorkTree(t)}
}

// commit writes the manifest, commits (and pushes) it, and returns the hash.
func (r *repo) commit(content string) string {
	return r.Commit("change", map[string]string{"environments.bitesize": content})
}
