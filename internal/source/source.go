package source

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/envop/envop/internal/gitaddr"
)

// Snapshot is the repository at one revision.
type Snapshot struct {
	// Revision is the commit hash, or for a plain folder a content hash.
	Revision string
	// Files is the tree at Revision, read-only and read lazily from disk. It
	// stays readable until keepTrees newer revisions have been fetched from
	// the same Source.
	Files fs.FS
	// Message, Author and Time describe the commit when there is one. Time
	// is the committer time: when the change reached the branch.
	Message, Author string
	Time            time.Time

	// Gists is the gists repository this revision's environment names
	// (see WithGists), at its newest revision; nil when it names none.
	Gists *Snapshot
	// GistsRepository names the gists repository, without credentials.
	GistsRepository string
}

// GistsRevision returns the revision of the gists repository, "" when
// there is none.
func (s *Snapshot) GistsRevision() string {
	if s == nil || s.Gists == nil {
		return ""
	}
	return s.Gists.Revision
}

// Source fetches the current revision of a repository.
type Source interface {
	// Fetch returns the newest revision. It returns the same Snapshot as
	// before when nothing changed.
	Fetch(ctx context.Context) (*Snapshot, error)
	// String names the source for logs, without credentials.
	String() string
}

// Errors that the errors returned by Fetch and the constructors can be
// matched against with errors.Is.
var (
	ErrBranchNotFound     = errors.New("branch not found")
	ErrAuthentication     = errors.New("authentication failed")
	ErrRepositoryNotFound = errors.New("repository not found")
	ErrNoKnownHosts       = errors.New("no known hosts")
	ErrHostKey            = errors.New("host key verification failed")
	ErrTreeTooLarge       = errors.New("repository tree too large")
)

// New returns the Source for rawURL: a git repository for https://, http://,
// ssh://, scp-like user@host:path and file:// addresses, otherwise a local
// path (a git repository, whose opts.Branch or HEAD is used, or a plain
// folder). opts.URL is ignored: rawURL wins. The forms are gitaddr's, which
// the manifest's gists_repository is validated by too.
func New(rawURL string, opts GitOptions) (Source, error) {
	form, err := gitaddr.Parse(rawURL, pathExists)
	switch {
	case errors.Is(err, gitaddr.ErrEmpty):
		return nil, errors.New("no repository given: set --git-repo (GIT_REMOTE_REPOSITORY)")
	case err != nil:
		return nil, fmt.Errorf("repository %s: %w", redactURL(rawURL), err)
	case form == gitaddr.Path:
		return newLocal(rawURL, opts.Branch, opts.Dir)
	}
	opts.URL = rawURL
	return NewGit(opts)
}

// pathExists tells a relative path such as "config:v1/repo" that exists
// locally from an ssh address.
func pathExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
