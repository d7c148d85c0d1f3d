package source

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
)

// keepTrees is how many revision trees a Source keeps on disk. A Snapshot's
// Files stays readable until this many newer revisions have been fetched,
// which leaves the controller ample time to load the manifest and its gists
// from the snapshot it was handed.
const keepTrees = 3

// Bounds on a tree written to disk. A repository that holds a manifest has
// far fewer and far smaller files; a tree beyond these is refused rather
// than filling the disk.
const (
	defaultMaxFiles = 50_000
	defaultMaxBytes = 512 << 20
)

// limits bounds one tree.
type limits struct {
	maxFiles int
	maxBytes int64
}

var defaultLimits = limits{maxFiles: defaultMaxFiles, maxBytes: defaultMaxBytes}

// budget counts what has been written against the limits.
type budget struct {
	limits
	files int
	bytes int64
}

func (b *budget) take(size int64) error {
	b.files++
	b.bytes += size
	if b.files > b.maxFiles {
		return fmt.Errorf("%w: more than %d files", ErrTreeTooLarge, b.maxFiles)
	}
	if b.bytes > b.maxBytes {
		return fmt.Errorf("%w: more than %d bytes", ErrTreeTooLarge, b.maxBytes)
	}
	return nil
}

// treeStore holds one directory per revision under dir. A tree is written to
// a temporary directory and renamed into place, so a tree that exists is
// complete.
type treeStore struct {
	dir    string
	limits limits

	mu     sync.Mutex
	recent []string // revisions, oldest first
}

func newTreeStore(dir string) (*treeStore, error) {
	// Trees left by an earlier process are not known to be complete or
	// wanted; nothing can hold them yet, so start clean.
	if err := os.RemoveAll(dir); err != nil {
		return nil, fmt.Errorf("clean tree directory: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create tree directory: %w", err)
	}
	return &treeStore{dir: dir, limits: defaultLimits}, nil
}

// get returns the tree of rev if it is on disk.
func (s *treeStore) get(rev string) (fs.FS, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !slices.Contains(s.recent, rev) {
		return nil, false
	}
	s.touch(rev)
	return os.DirFS(filepath.Join(s.dir, rev)), true
}

// put writes a tree with write into a temporary directory, names it by the
// revision write returns, and drops the oldest trees beyond keepTrees.
func (s *treeStore) put(write func(dst string, b *budget) (string, error)) (string, fs.FS, error) {
	tmp, err := os.MkdirTemp(s.dir, ".tmp-")
	if err != nil {
		return "", nil, fmt.Errorf("create tree directory: %w", err)
	}
	rev, err := write(tmp, &budget{limits: s.limits})
	if err != nil {
		_ = os.RemoveAll(tmp)
		return "", nil, err
	}
	if files, ok := s.get(rev); ok {
		_ = os.RemoveAll(tmp)
		return rev, files, nil
	}
	dst := filepath.Join(s.dir, rev)
	if err := os.Rename(tmp, dst); err != nil {
		_ = os.RemoveAll(tmp)
		return "", nil, fmt.Errorf("store tree: %w", err)
	}
	s.mu.Lock()
	s.touch(rev)
	s.prune()
	s.mu.Unlock()
	return rev, os.DirFS(dst), nil
}

// touch marks rev as the newest tree. s.mu must be held.
func (s *treeStore) touch(rev string) {
	s.recent = slices.DeleteFunc(s.recent, func(r string) bool { return r == rev })
	s.recent = append(s.recent, rev)
}

// prune removes the oldest trees beyond keepTrees. s.mu must be held.
func (s *treeStore) prune() {
	for len(s.recent) > keepTrees {
		_ = os.RemoveAll(filepath.Join(s.dir, s.recent[0]))
		s.recent = s.recent[1:]
	}
}

// writeFile copies size bytes from r to path, creating parent directories.
func writeFile(ctx context.Context, path string, r io.Reader, size int64, b *budget) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := b.take(size); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	// A local file that grew since it was measured is cut at the measured
	// size; the next Fetch sees the change and writes a new tree.
	_, err = io.Copy(f, io.LimitReader(r, size))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
