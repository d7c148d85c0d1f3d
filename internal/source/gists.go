package source

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	neturl "net/url"
	"path/filepath"
	"strings"
	"sync"

	"github.com/envop/envop/internal/gitaddr"
)

// Ref is a branch of a repository; an empty Branch follows the remote's
// HEAD.
type Ref struct {
	URL, Branch string
}

// GistsOptions configure WithGists.
type GistsOptions struct {
	// Locate returns the gists repository a tree of the repository names
	// (the environment's gists_repository), the zero Ref when it names
	// none. It is called once per revision of the repository.
	Locate func(fs.FS) Ref
	// Repository is the repository's address (--git-repo) and Git its
	// options: a gists repository is fetched with the same TLS and host
	// key settings.
	Repository string
	Git        GitOptions
	// Credentials authenticate to the gists repository (GISTS_USER,
	// GISTS_TOKEN, GISTS_PRIVATE_KEY). When none is set, a gists
	// repository on the repository's own server (same scheme, host and
	// port) is fetched with the repository's credentials, and one on
	// another server with none: the credentials of one server never go to
	// another that the file names.
	Credentials Credentials
}

// gistsSettings name the settings of a gists repository in errors.
var gistsSettings = Settings{Token: "GISTS_USER/GISTS_TOKEN", Key: "GISTS_PRIVATE_KEY", Branch: "gists_repository.branch"}

// Gists is a Source of a repository together with the gists repository
// its file names: each Snapshot is the repository's, with the gists
// repository's in Snapshot.Gists. A new revision of either is a new
// Snapshot, so polling it polls both.
type Gists struct {
	main Source
	opts GistsOptions
	// local says whether the repository is on this machine; only then may
	// a gists repository be (see open).
	local bool
	log   *slog.Logger

	mu         sync.Mutex
	located    string // the revision Locate last ran on
	ref        Ref
	src        Source // of ref; nil until opened
	srcFailure error  // why ref cannot be opened
	last       *Snapshot
}

// WithGists returns a Source of main and of the gists repository each of
// its revisions names through opts.Locate.
func WithGists(main Source, opts GistsOptions) *Gists {
	log := cmp.Or(opts.Git.Logger, slog.Default())
	return &Gists{main: main, opts: opts, local: gitaddr.Local(opts.Repository), log: log}
}

// String names the repository.
func (g *Gists) String() string { return g.main.String() }

// Close removes the working directory of the gists repository.
func (g *Gists) Close() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return closeSource(g.src)
}

// Fetch fetches the repository, then the gists repository its newest
// revision names. A gists repository that cannot be fetched fails the
// Fetch, with an error naming it.
func (g *Gists) Fetch(ctx context.Context) (*Snapshot, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	snap, err := g.main.Fetch(ctx)
	if err != nil {
		return nil, err
	}
	if g.located == "" || snap.Revision != g.located {
		g.follow(g.opts.Locate(snap.Files))
		g.located = snap.Revision
	}
	if g.ref == (Ref{}) {
		return snap, nil
	}
	if g.srcFailure != nil {
		return nil, g.srcFailure
	}
	gists, err := g.src.Fetch(ctx)
	if err != nil {
		return nil, fmt.Errorf("gists repository: %w", err)
	}
	if g.last != nil && g.last.Revision == snap.Revision && g.last.Gists == gists {
		return g.last, nil
	}
	out := *snap
	out.Gists, out.GistsRepository = gists, g.src.String()
	g.last = &out
	return &out, nil
}

// follow switches to ref when it differs from the one followed.
func (g *Gists) follow(ref Ref) {
	if ref == g.ref && (g.src != nil || g.srcFailure != nil || ref == (Ref{})) {
		return
	}
	if err := closeSource(g.src); err != nil {
		g.log.Warn("gists repository cache not removed", "error", err)
	}
	g.ref, g.src, g.srcFailure, g.last = ref, nil, nil, nil
	if ref == (Ref{}) {
		return
	}
	g.src, g.srcFailure = g.open(ref)
	if g.srcFailure == nil {
		g.log.Info("gists repository configured", "repository", g.src.String(), "branch", ref.Branch)
	}
}

// open prepares the Source of a gists repository. A local one (a path or
// file://) is followed only when the repository is local too: an operator
// that fetches its repository over the network must not let the file's
// authors read its own machine.
func (g *Gists) open(ref Ref) (Source, error) {
	url := ref.URL
	if gitaddr.Local(url) {
		if !g.local {
			return nil, fmt.Errorf("gists repository %s: a local path or file:// address is followed only by an operator whose own repository is local; give an https or ssh address", redactURL(url))
		}
		if form, err := gitaddr.Parse(url, nil); err == nil && form == gitaddr.Path && !filepath.IsAbs(url) {
			url = filepath.Join(localPath(g.opts.Repository), url) // relative to the repository's folder
		}
	}
	opts := g.opts.Git
	opts.URL, opts.Branch, opts.Dir = "", ref.Branch, ""
	opts.Settings = gistsSettings
	switch {
	case !g.opts.Credentials.IsZero():
		opts = opts.withCredentials(g.opts.Credentials)
	case gitaddr.SameServer(url, g.opts.Repository):
		opts.Settings.Token, opts.Settings.Key = "GIT_USER/GIT_TOKEN (no GISTS_* set)", "GIT_PRIVATE_KEY (no GISTS_* set)"
	default:
		opts = opts.withCredentials(Credentials{})
	}
	src, err := New(url, opts)
	if err != nil {
		return nil, fmt.Errorf("gists repository: %w", err)
	}
	return src, nil
}

// localPath is the folder of a local repository address: a path, or the
// path of a file:// URL.
func localPath(raw string) string {
	if u, err := neturl.Parse(raw); err == nil && strings.EqualFold(u.Scheme, "file") {
		return filepath.FromSlash(u.Path)
	}
	return raw
}

func closeSource(src Source) error {
	if c, ok := src.(io.Closer); ok {
		return c.Close()
	}
	return nil
}
