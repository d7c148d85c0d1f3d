package source

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
)

// Local is a Source for a path on this machine: a git repository (work tree
// or bare), read at the head of its branch, or a plain folder, whose
// revision is a hash of its files' content.
type Local struct {
	path   string
	branch string // git only; empty means HEAD
	isGit  bool
	dir    string
	ownDir bool
	trees  *treeStore

	mu   sync.Mutex
	last *Snapshot
}

// NewLocal returns a Source for path. A git repository is read at HEAD (its
// committed state, not uncommitted changes).
func NewLocal(path string) (Source, error) {
	return newLocal(path, "", "")
}

func newLocal(path, branch, dir string) (*Local, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("local repository %s: %w", path, err)
	}
	st, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("local repository: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("local repository %s: not a directory", abs)
	}
	l := &Local{path: abs, branch: branch}
	_, err = git.PlainOpen(abs)
	l.isGit = err == nil
	if !l.isGit && branch != "" {
		return nil, fmt.Errorf("local repository %s: a branch is set but the folder is not a git repository", abs)
	}
	if dir == "" {
		if dir, err = os.MkdirTemp("", "envop-source-"); err != nil {
			return nil, fmt.Errorf("create work directory: %w", err)
		}
		l.ownDir = true
	}
	l.dir = dir
	if l.trees, err = newTreeStore(filepath.Join(dir, "trees")); err != nil {
		return nil, err
	}
	return l, nil
}

// String returns the path.
func (l *Local) String() string { return l.path }

// Close removes the working directory when it was created for this Source.
func (l *Local) Close() error {
	if !l.ownDir {
		return nil
	}
	return os.RemoveAll(l.dir)
}

// Fetch reads the current revision.
func (l *Local) Fetch(ctx context.Context) (*Snapshot, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fetch := l.fetchFolder
	if l.isGit {
		fetch = l.fetchGit
	}
	snap, err := fetch(ctx)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", l.path, err)
	}
	l.last = snap
	return snap, nil
}

// fetchGit reads the branch head. The repository is opened on every call so
// that repacking by git in between is picked up.
func (l *Local) fetchGit(ctx context.Context) (*Snapshot, error) {
	repo, err := git.PlainOpen(l.path)
	if err != nil {
		return nil, fmt.Errorf("open repository: %w", err)
	}
	name := plumbing.HEAD
	if l.branch != "" {
		name = plumbing.NewBranchReferenceName(l.branch)
	}
	ref, err := repo.Reference(name, true)
	if errors.Is(err, plumbing.ErrReferenceNotFound) {
		return nil, fmt.Errorf("%w: %s", ErrBranchNotFound, name.Short())
	}
	if err != nil {
		return nil, fmt.Errorf("resolve %s: %w", name.Short(), err)
	}
	if l.last != nil && l.last.Revision == ref.Hash().String() {
		return l.last, nil
	}
	c, err := repo.CommitObject(ref.Hash())
	if err != nil {
		return nil, fmt.Errorf("read commit %s: %w", shortRev(ref.Hash().String()), err)
	}
	return snapshotOf(ctx, l.trees, c)
}

// fetchFolder hashes the folder and, when the hash is new, copies it into a
// fresh tree, whose own hash becomes the revision (the folder may change
// while it is copied).
func (l *Local) fetchFolder(ctx context.Context) (*Snapshot, error) {
	sum, err := walkFolder(ctx, l.path, "", &budget{limits: l.trees.limits})
	if err != nil {
		return nil, err
	}
	if l.last != nil && l.last.Revision == sum {
		return l.last, nil
	}
	rev, files, err := l.trees.put(func(dst string, b *budget) (string, error) {
		return walkFolder(ctx, l.path, dst, b)
	})
	if err != nil {
		return nil, err
	}
	return &Snapshot{Revision: rev, Files: files}, nil
}

// walkFolder hashes the regular files under root (paths and content, in
// lexical order) and, when dst is set, copies them there. Symbolic links,
// other special files and .git directories are skipped.
func walkFolder(ctx context.Context, root, dst string, b *budget) (string, error) {
	h := sha256.New()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == ".git" {
			return filepath.SkipDir
		}
		if !d.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		return hashFile(ctx, h, p, filepath.ToSlash(rel), dst, b)
	})
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// hashFile adds one file to h and copies it under dst when dst is set.
func hashFile(ctx context.Context, h io.Writer, path, rel, dst string, b *budget) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	fmt.Fprintf(h, "%s\x00%s\x00", rel, strconv.FormatInt(st.Size(), 10))
	r := io.TeeReader(f, h)
	if dst == "" {
		if err := b.take(st.Size()); err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, io.LimitReader(r, st.Size()))
		return err
	}
	return writeFile(ctx, filepath.Join(dst, filepath.FromSlash(rel)), r, st.Size(), b)
}
