package source

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"regexp"
	"strings"
	"time"
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

// scpLike matches ssh addresses in the scp form, user@host:path.
var scpLike = regexp.MustCompile(`^(?:[A-Za-z0-9._~-]+@)?[A-Za-z0-9.-]+:`)

// New returns the Source for rawURL: a git repository for https://, http://,
// ssh://, scp-like user@host:path and file:// addresses, otherwise a local
// path (a git repository, whose opts.Branch or HEAD is used, or a plain
// folder). opts.URL is ignored: rawURL wins.
func New(rawURL string, opts GitOptions) (Source, error) {
	switch {
	case rawURL == "":
		return nil, errors.New("no repository given: set --git-repo (GIT_REMOTE_REPOSITORY)")
	case isRemote(rawURL):
		opts.URL = rawURL
		return NewGit(opts)
	case strings.Contains(rawURL, "://"):
		scheme, _, _ := strings.Cut(rawURL, "://")
		return nil, fmt.Errorf("repository %s: unsupported scheme %q", redactURL(rawURL), scheme)
	default:
		return newLocal(rawURL, opts.Branch, opts.Dir)
	}
}

func isRemote(rawURL string) bool {
	for _, p := range []string{"https://", "http://", "ssh://", "file://"} {
		if strings.HasPrefix(strings.ToLower(rawURL), p) {
			return true
		}
	}
	if !scpLike.MatchString(rawURL) {
		return false
	}
	// A relative path such as "config:v1/repo" that exists locally is a
	// path, not an ssh address.
	_, err := os.Stat(rawURL)
	return err != nil
}
