package source

import (
	"context"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// maxMessage bounds the commit message kept in a Snapshot.
const maxMessage = 4 << 10

// snapshotOf writes the tree of c to the store (unless it is there already)
// and describes it.
func snapshotOf(ctx context.Context, store *treeStore, c *object.Commit) (*Snapshot, error) {
	rev := c.Hash.String()
	files, ok := store.get(rev)
	if !ok {
		var err error
		_, files, err = store.put(func(dst string, b *budget) (string, error) {
			return rev, writeCommitTree(ctx, c, dst, b)
		})
		if err != nil {
			return nil, fmt.Errorf("check out %s: %w", shortRev(rev), err)
		}
	}
	return &Snapshot{
		Revision: rev,
		Files:    files,
		Message:  truncate(strings.TrimSpace(c.Message), maxMessage),
		Author:   fmt.Sprintf("%s <%s>", c.Author.Name, c.Author.Email),
		Time:     c.Committer.When,
	}, nil
}

// writeCommitTree writes the regular files of c's tree under dst. Symbolic
// links are skipped: followed through os.DirFS they could expose files from
// outside the repository (a service account token, say) as gist content.
// Submodules are skipped too.
func writeCommitTree(ctx context.Context, c *object.Commit, dst string, b *budget) error {
	tree, err := c.Tree()
	if err != nil {
		return fmt.Errorf("read tree: %w", err)
	}
	iter := tree.Files()
	defer iter.Close()
	return iter.ForEach(func(f *object.File) error {
		if f.Mode != filemode.Regular && f.Mode != filemode.Executable && f.Mode != filemode.Deprecated {
			return nil
		}
		if !fs.ValidPath(f.Name) {
			return fmt.Errorf("invalid path %q in tree", f.Name)
		}
		r, err := f.Reader()
		if err != nil {
			return fmt.Errorf("read %s: %w", f.Name, err)
		}
		defer r.Close()
		if err := writeFile(ctx, filepath.Join(dst, filepath.FromSlash(f.Name)), r, f.Size, b); err != nil {
			return fmt.Errorf("write %s: %w", f.Name, err)
		}
		return nil
	})
}

func shortRev(rev string) string {
	if len(rev) > 12 {
		return rev[:12]
	}
	return rev
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}
