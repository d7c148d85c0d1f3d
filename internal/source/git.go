package source

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/go-git/go-billy/v5/osfs"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

const remoteName = "origin"

// objectCacheSize bounds go-git's in-memory object cache per repository.
const objectCacheSize = 8 * cache.MiByte

// defaultMaxPacks is how many pack files the cache may hold before it is
// replaced by a fresh shallow clone.
const defaultMaxPacks = 64

// GitOptions configures a git Source.
type GitOptions struct {
	// URL of the repository: https://, http://, ssh://, user@host:path or
	// file://. Userinfo in an https URL is used as credentials and removed.
	URL string
	// Branch to follow; empty follows the remote's HEAD.
	Branch string
	// Dir is the working directory (repository cache and checked-out
	// trees), owned by this Source; empty means a new temporary directory,
	// removed by Close.
	Dir string

	// Username and Token authenticate over https (GIT_USER, GIT_TOKEN).
	Username, Token string
	// CAFile is a PEM bundle trusted for https in addition to the system
	// roots.
	CAFile string
	// InsecureSkipTLSVerify turns off certificate verification for https.
	InsecureSkipTLSVerify bool

	// PrivateKey is a PEM private key for ssh (GIT_PRIVATE_KEY content),
	// decrypted with PrivateKeyPassphrase when it is encrypted.
	PrivateKey           []byte
	PrivateKeyPassphrase string
	// KnownHosts holds known_hosts lines (GIT_KNOWN_HOSTS content); the ssh
	// server's host key must match them.
	KnownHosts []byte
	// InsecureIgnoreHostKey accepts any ssh host key. Only for an explicit
	// user request.
	InsecureIgnoreHostKey bool

	// Logger receives warnings (such as plain-http use); nil means
	// slog.Default().
	Logger *slog.Logger

	// Settings name, in the advice of errors, where the credentials and
	// the branch are set; zero means the repository's own settings.
	Settings Settings
}

// Settings name the settings errors advise to check.
type Settings struct {
	// Token names the https credentials' settings, Key the private key's,
	// Branch the branch's.
	Token, Key, Branch string
}

// repositorySettings are the settings of the operator's repository.
var repositorySettings = Settings{Token: "GIT_USER/GIT_TOKEN", Key: "GIT_PRIVATE_KEY", Branch: "--git-branch (GIT_BRANCH)"}

func (s Settings) orDefault() Settings {
	if s == (Settings{}) {
		return repositorySettings
	}
	return s
}

// Credentials are what a git server is authenticated with: a user name
// and token for https, a private key (and its passphrase) for ssh.
type Credentials struct {
	Username, Token      string
	PrivateKey           []byte
	PrivateKeyPassphrase string
}

// IsZero reports whether no credential is set.
func (c Credentials) IsZero() bool {
	return c.Username == "" && c.Token == "" && len(c.PrivateKey) == 0 && c.PrivateKeyPassphrase == ""
}

// withCredentials returns o authenticating with c instead of its own.
func (o GitOptions) withCredentials(c Credentials) GitOptions {
	o.Username, o.Token = c.Username, c.Token
	o.PrivateKey, o.PrivateKeyPassphrase = c.PrivateKey, c.PrivateKeyPassphrase
	return o
}

// Git is a Source that fetches one branch of a remote repository.
type Git struct {
	url, branch string // url has no credentials
	display     string
	dir         string
	ownDir      bool
	remote      remoteOptions
	scrub       scrubber
	log         *slog.Logger
	trees       *treeStore
	maxPacks    int
	settings    Settings

	mu   sync.Mutex // serializes Fetch
	repo *git.Repository
	last *Snapshot
}

// NewGit checks opts and prepares a Source; it does not contact the remote.
func NewGit(opts GitOptions) (*Git, error) {
	opts.Settings = opts.Settings.orDefault()
	g := &Git{branch: opts.Branch, log: opts.Logger, maxPacks: defaultMaxPacks, settings: opts.Settings}
	if g.log == nil {
		g.log = slog.Default()
	}
	url, creds, err := g.setCredentials(opts)
	if err != nil {
		return nil, err
	}
	g.url, g.display = url, redactURL(opts.URL)
	if g.remote, err = newRemoteOptions(g.url, opts, creds, g.log); err != nil {
		return nil, g.scrub.err(fmt.Errorf("repository %s: %w", g.display, err))
	}
	if err := g.initDir(opts.Dir); err != nil {
		return nil, g.scrub.err(err)
	}
	return g, nil
}

// minScrubbedUser is the shortest URL user name that is scrubbed from
// errors when it stands alone (it may be a token); shorter ones are names
// such as "git" whose removal would garble messages.
const minScrubbedUser = 8

// credentials are the https credentials from GitOptions and the URL.
type credentials struct {
	user, token string
	// tokenAsUser sends token as the user name with no password, the way
	// https://TOKEN@host does.
	tokenAsUser bool
}

// setCredentials takes userinfo out of an https URL and registers every
// secret with the scrubber. It returns the URL to fetch and the https
// credentials; explicit options win over the URL's userinfo.
func (g *Git) setCredentials(opts GitOptions) (string, credentials, error) {
	g.scrub.add(opts.URL, redactURL(opts.URL))
	g.scrub.add(opts.Token, "<redacted>")
	g.scrub.add(opts.PrivateKeyPassphrase, "<redacted>")
	creds := credentials{user: opts.Username, token: opts.Token}
	if opts.URL == "" {
		return "", creds, errors.New("no repository URL given")
	}
	u, user, pass, err := splitUserinfo(opts.URL)
	if err != nil {
		return "", creds, fmt.Errorf("repository %s: %w", redactURL(opts.URL), err)
	}
	g.scrub.add(pass, "<redacted>")
	switch {
	case creds.token != "" || user == "":
	case pass != "":
		creds.token = pass
		creds.user = cmp.Or(creds.user, user)
	default:
		creds = credentials{token: user, tokenAsUser: true}
		if len(user) >= minScrubbedUser {
			g.scrub.add(user, "<redacted>")
		}
	}
	return u, creds, nil
}

func (g *Git) initDir(dir string) error {
	if dir == "" {
		d, err := os.MkdirTemp("", "envop-source-")
		if err != nil {
			return fmt.Errorf("create work directory: %w", err)
		}
		dir, g.ownDir = d, true
	}
	g.dir = dir
	trees, err := newTreeStore(filepath.Join(dir, "trees"))
	if err != nil {
		return err
	}
	g.trees = trees
	return nil
}

// String returns the repository URL without credentials.
func (g *Git) String() string { return g.display }

// Close removes the working directory when NewGit created it.
func (g *Git) Close() error {
	if !g.ownDir {
		return nil
	}
	return os.RemoveAll(g.dir)
}

// Fetch brings the cache up to date with the branch and returns its head.
func (g *Git) Fetch(ctx context.Context) (*Snapshot, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	c, err := g.update(ctx)
	if err != nil {
		if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
			err = fmt.Errorf("%w: %w", cerr, err)
		}
		return nil, g.scrub.err(fmt.Errorf("fetch %s: %w", g.display, err))
	}
	if g.last != nil && g.last.Revision == c.Hash.String() {
		return g.last, nil
	}
	snap, err := snapshotOf(ctx, g.trees, c)
	if err != nil {
		return nil, g.scrub.err(fmt.Errorf("fetch %s: %w", g.display, err))
	}
	g.last = snap
	return snap, nil
}

// update fetches into the cache and returns the branch head. When the cache
// exists but fails for a reason other than the remote's answer, it is
// deleted and cloned again once.
func (g *Git) update(ctx context.Context) (*object.Commit, error) {
	reused := g.repo != nil || dirExists(g.repoDir())
	c, err := g.tryUpdate(ctx)
	if err == nil || !reused || isRemoteError(ctx, err) {
		return c, err
	}
	g.log.Warn("source cache unusable, cloning again", "source", g.display, "error", g.scrub.scrub(err.Error()))
	g.repo = nil
	if err := os.RemoveAll(g.repoDir()); err != nil {
		return nil, fmt.Errorf("remove cache: %w", err)
	}
	return g.tryUpdate(ctx)
}

func (g *Git) tryUpdate(ctx context.Context) (*object.Commit, error) {
	if g.repo != nil && g.packCount() > g.maxPacks {
		g.log.Info("source cache has many packs, cloning again", "source", g.display, "packs", g.packCount())
		g.repo = nil
	}
	if g.repo == nil {
		repo, err := g.openRepo()
		if err != nil {
			return nil, err
		}
		g.repo = repo
	}
	return g.fetchHead(ctx, g.repo)
}

func (g *Git) repoDir() string { return filepath.Join(g.dir, "repo") }

// openRepo opens the bare cache, creating it when absent. A cache for
// another URL, or one that has grown too many packs, is replaced.
func (g *Git) openRepo() (*git.Repository, error) {
	repo, err := git.Open(newStorage(g.repoDir()), nil)
	if errors.Is(err, git.ErrRepositoryNotExists) {
		return g.initRepo()
	}
	if err != nil {
		return nil, fmt.Errorf("open cache: %w", err)
	}
	rem, err := repo.Remote(remoteName)
	if err != nil || len(rem.Config().URLs) != 1 || rem.Config().URLs[0] != g.url || g.packCount() > g.maxPacks {
		if err := os.RemoveAll(g.repoDir()); err != nil {
			return nil, fmt.Errorf("remove cache: %w", err)
		}
		return g.initRepo()
	}
	return repo, nil
}

func (g *Git) initRepo() (*git.Repository, error) {
	repo, err := git.Init(newStorage(g.repoDir()), nil)
	if err != nil {
		return nil, fmt.Errorf("create cache: %w", err)
	}
	_, err = repo.CreateRemote(&config.RemoteConfig{Name: remoteName, URLs: []string{g.url}})
	if err != nil {
		return nil, fmt.Errorf("create cache: %w", err)
	}
	return repo, nil
}

// newStorage returns bare repository storage in dir with a small object
// cache: only the head commit's tree is ever read, once per revision, so
// go-git's default of 96 MiB would only cost memory.
func newStorage(dir string) *filesystem.Storage {
	return filesystem.NewStorage(osfs.New(dir), cache.NewObjectLRU(objectCacheSize))
}

// packCount returns the number of pack files in the cache. Every fetch that
// brings something new adds one; past maxPacks the cache is cloned again
// (one shallow fetch), which is cheaper than reading many small packs.
func (g *Git) packCount() int {
	packs, _ := filepath.Glob(filepath.Join(g.repoDir(), "objects", "pack", "*.pack"))
	return len(packs)
}

// fetchHead fetches the branch head alone (depth 1) with a forced refspec,
// so a force-push replaces the cached head, and returns the new head.
func (g *Git) fetchHead(ctx context.Context, repo *git.Repository) (*object.Commit, error) {
	src, local := g.refs()
	spec := config.RefSpec(fmt.Sprintf("+%s:%s", src, local))
	err := repo.FetchContext(ctx, g.remote.fetchOptions(spec))
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		return nil, g.classify(err)
	}
	ref, err := repo.Reference(local, true)
	if err != nil {
		return nil, fmt.Errorf("resolve %s: %w", local, err)
	}
	c, err := repo.CommitObject(ref.Hash())
	if err != nil {
		return nil, fmt.Errorf("read commit %s: %w", shortRev(ref.Hash().String()), err)
	}
	return c, nil
}

// refs returns the remote ref to fetch and the local ref it is stored in.
func (g *Git) refs() (plumbing.ReferenceName, plumbing.ReferenceName) {
	if g.branch == "" {
		return plumbing.HEAD, plumbing.NewRemoteHEADReferenceName(remoteName)
	}
	return plumbing.NewBranchReferenceName(g.branch), plumbing.NewRemoteReferenceName(remoteName, g.branch)
}

// classify maps go-git's errors to this package's, with advice.
func (g *Git) classify(err error) error {
	switch {
	case errors.Is(err, git.NoMatchingRefSpecError{}):
		if g.branch == "" {
			return fmt.Errorf("%w: the repository has no HEAD; set %s", ErrBranchNotFound, g.settings.Branch)
		}
		return fmt.Errorf("%w: %q", ErrBranchNotFound, g.branch)
	case errors.Is(err, transport.ErrAuthenticationRequired), errors.Is(err, transport.ErrAuthorizationFailed):
		return fmt.Errorf("%w: check %s or %s: %v", ErrAuthentication, g.settings.Token, g.settings.Key, err)
	case strings.Contains(err.Error(), "unable to authenticate"):
		return fmt.Errorf("%w: check %s and the key's access to the repository: %v", ErrAuthentication, g.settings.Key, err)
	case strings.Contains(err.Error(), "x509:") || strings.Contains(err.Error(), "failed to verify certificate"):
		return fmt.Errorf("TLS verification of the git server failed (give its CA, or turn verification off explicitly): %w", err)
	case errors.Is(err, transport.ErrRepositoryNotFound):
		return fmt.Errorf("%w (or no access to it)", ErrRepositoryNotFound)
	case errors.Is(err, transport.ErrEmptyRemoteRepository):
		return fmt.Errorf("%w: the repository is empty", ErrBranchNotFound)
	}
	return err
}

// isRemoteError reports whether err is the remote's (or the network's)
// answer, which cloning again would not change; trying again could also
// lock an account out after repeated bad credentials.
func isRemoteError(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return true
	}
	for _, s := range []error{ErrBranchNotFound, ErrAuthentication, ErrRepositoryNotFound, ErrHostKey, ErrNoKnownHosts} {
		if errors.Is(err, s) {
			return true
		}
	}
	msg := err.Error()
	for _, s := range []string{"dial tcp", "connection refused", "no such host", "certificate", "tls:", "i/o timeout", "handshake"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

func dirExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}
