package source

import (
	"context"
	"errors"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/envop/envop/internal/testgit"
	"github.com/envop/envop/internal/testlog"
)

func fileURL(p string) string { return "file://" + filepath.ToSlash(p) }

func newTestGit(t *testing.T, opts GitOptions) *Git {
	t.Helper()
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	g, err := NewGit(opts)
	if err != nil {
		t.Fatalf("NewGit: %v", err)
	}
	return g
}

func TestGitFileCloneAndNewCommit(t *testing.T) {
	up := testgit.NewRepo(t)
	first := up.Commit("first", map[string]string{"environments.bitesize": "v1", "gists/a.conf": "a"})
	g := newTestGit(t, GitOptions{URL: fileURL(up.Bare), Branch: "main"})

	snap, err := g.Fetch(t.Context())
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	if snap.Revision != first || readSnap(t, snap, "environments.bitesize") != "v1" || readSnap(t, snap, "gists/a.conf") != "a" {
		t.Fatalf("first snapshot: revision %s, want %s", snap.Revision, first)
	}
	if snap.Message != "first" || snap.Author != "Ada <ada@example.com>" || snap.Time.IsZero() {
		t.Errorf("metadata: %q %q %v", snap.Message, snap.Author, snap.Time)
	}
	again, err := g.Fetch(t.Context())
	if err != nil || again != snap {
		t.Fatalf("unchanged fetch: %v, same snapshot %v", err, again == snap)
	}

	second := up.Commit("second", map[string]string{"environments.bitesize": "v2"})
	snap2, err := g.Fetch(t.Context())
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	if snap2.Revision != second || readSnap(t, snap2, "environments.bitesize") != "v2" {
		t.Fatalf("second snapshot: revision %s, want %s", snap2.Revision, second)
	}
	// The earlier snapshot still reads its own revision.
	if readSnap(t, snap, "environments.bitesize") != "v1" {
		t.Error("first snapshot changed under its reader")
	}
}

func TestGitFileForcePush(t *testing.T) {
	up := testgit.NewRepo(t)
	up.Commit("base", map[string]string{"environments.bitesize": "base"})
	bad := up.Commit("bad", map[string]string{"environments.bitesize": "bad"})
	log, logs := testlog.New()
	g := newTestGit(t, GitOptions{URL: fileURL(up.Bare), Branch: "main", Logger: log})
	if snap, err := g.Fetch(t.Context()); err != nil || snap.Revision != bad {
		t.Fatalf("Fetch: %v", err)
	}

	// Rewrite history: drop "bad", commit something else on the branch.
	up.Git("reset", "-q", "--hard", "HEAD~1")
	testgit.WriteFiles(t, up.Work, map[string]string{"environments.bitesize": "rewritten"})
	up.Git("commit", "-q", "-am", "rewritten")
	up.Git("push", "-q", "--force", "origin", "main")
	rewritten := up.Git("rev-parse", "HEAD")

	snap, err := g.Fetch(t.Context())
	if err != nil {
		t.Fatalf("Fetch after force-push: %v", err)
	}
	if snap.Revision != rewritten || readSnap(t, snap, "environments.bitesize") != "rewritten" {
		t.Fatalf("after force-push: revision %s, want %s", snap.Revision, rewritten)
	}
	if strings.Contains(logs.String(), "cloning again") {
		t.Errorf("force-push needed a new clone; the forced fetch should handle it:\n%s", logs)
	}
}

func TestGitFileBranchSelection(t *testing.T) {
	up := testgit.NewRepo(t)
	up.Commit("main", map[string]string{"environments.bitesize": "main"})
	up.Git("checkout", "-q", "-b", "staging")
	staging := up.Commit("staging", map[string]string{"environments.bitesize": "staging"})

	g := newTestGit(t, GitOptions{URL: fileURL(up.Bare), Branch: "staging"})
	snap, err := g.Fetch(t.Context())
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	if snap.Revision != staging || readSnap(t, snap, "environments.bitesize") != "staging" {
		t.Fatalf("got revision %s, want staging %s", snap.Revision, staging)
	}

	// No branch: the remote's HEAD (main).
	g = newTestGit(t, GitOptions{URL: fileURL(up.Bare)})
	snap, err = g.Fetch(t.Context())
	if err != nil {
		t.Fatalf("Fetch HEAD: %v", err)
	}
	if got := readSnap(t, snap, "environments.bitesize"); got != "main" {
		t.Fatalf("HEAD content %q, want main", got)
	}
}

func TestGitFileMissingBranch(t *testing.T) {
	up := testgit.NewRepo(t)
	up.Commit("main", map[string]string{"environments.bitesize": "main"})
	g := newTestGit(t, GitOptions{URL: fileURL(up.Bare), Branch: "nope"})
	_, err := g.Fetch(t.Context())
	if !errors.Is(err, ErrBranchNotFound) || !strings.Contains(err.Error(), `"nope"`) {
		t.Fatalf("err = %v, want branch not found naming the branch", err)
	}
}

func TestGitCorruptCacheIsClonedAgain(t *testing.T) {
	up := testgit.NewRepo(t)
	up.Commit("first", map[string]string{"environments.bitesize": "v1"})
	dir := t.TempDir()
	g := newTestGit(t, GitOptions{URL: fileURL(up.Bare), Branch: "main", Dir: dir})
	if _, err := g.Fetch(t.Context()); err != nil {
		t.Fatal(err)
	}
	second := up.Commit("second", map[string]string{"environments.bitesize": "v2"})

	// A new Source over the same directory, whose cached objects are
	// garbage.
	err := filepath.WalkDir(filepath.Join(dir, "repo", "objects"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		return os.WriteFile(p, []byte("garbage"), 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	log, logs := testlog.New()
	g = newTestGit(t, GitOptions{URL: fileURL(up.Bare), Branch: "main", Dir: dir, Logger: log})
	snap, err := g.Fetch(t.Context())
	if err != nil {
		t.Fatalf("Fetch with corrupt cache: %v", err)
	}
	if !strings.Contains(logs.String(), "cloning again") {
		t.Errorf("no new clone logged:\n%s", logs)
	}
	if snap.Revision != second {
		t.Fatalf("revision %s, want %s", snap.Revision, second)
	}
}

func TestGitTreeSkipsSymlinksAndKeepsFewTrees(t *testing.T) {
	up := testgit.NewRepo(t)
	if err := os.Symlink("/etc/passwd", filepath.Join(up.Work, "link")); err != nil {
		t.Fatal("create a symlink:", err)
	}
	up.Commit("c0", map[string]string{"environments.bitesize": "0"})
	g := newTestGit(t, GitOptions{URL: fileURL(up.Bare), Branch: "main"})
	first, err := g.Fetch(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fs.Stat(first.Files, "link"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("symlink in tree: %v", err)
	}
	for i := range keepTrees {
		up.Commit("more", map[string]string{"environments.bitesize": string(rune('1' + i))})
		if _, err := g.Fetch(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	entries, err := os.ReadDir(filepath.Join(g.dir, "trees"))
	if err != nil || len(entries) != keepTrees {
		t.Fatalf("trees on disk: %d (%v), want %d", len(entries), err, keepTrees)
	}
	if _, err := fs.ReadFile(first.Files, "environments.bitesize"); err == nil {
		t.Error("oldest tree still on disk")
	}
}

func TestGitTreeTooLarge(t *testing.T) {
	up := testgit.NewRepo(t)
	up.Commit("big", map[string]string{"a": "1", "b": "2", "c": "3"})
	g := newTestGit(t, GitOptions{URL: fileURL(up.Bare), Branch: "main"})
	g.trees.limits = limits{maxFiles: 2, maxBytes: 1 << 20}
	if _, err := g.Fetch(t.Context()); !errors.Is(err, ErrTreeTooLarge) {
		t.Fatalf("err = %v, want ErrTreeTooLarge", err)
	}
	g.trees.limits = limits{maxFiles: 10, maxBytes: 2}
	if _, err := g.Fetch(t.Context()); !errors.Is(err, ErrTreeTooLarge) {
		t.Fatalf("err = %v, want ErrTreeTooLarge", err)
	}
}

func TestGitFetchRespectsContext(t *testing.T) {
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	t.Cleanup(hang.Close)
	g := newTestGit(t, GitOptions{URL: hang.URL + "/repo.git", Branch: "main", Logger: discardLogger()})

	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := g.Fetch(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want context.DeadlineExceeded", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("Fetch returned %v after its deadline", took)
	}

	ctx, cancel = context.WithCancel(t.Context())
	cancel()
	if _, err := g.Fetch(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestGitCacheWithManyPacksIsReplaced(t *testing.T) {
	up := testgit.NewRepo(t)
	up.Commit("c0", map[string]string{"environments.bitesize": "0"})
	g := newTestGit(t, GitOptions{URL: fileURL(up.Bare), Branch: "main", Logger: discardLogger()})
	g.maxPacks = 2
	for i := range 5 {
		head := up.Commit("more", map[string]string{"environments.bitesize": string(rune('1' + i))})
		snap, err := g.Fetch(t.Context())
		if err != nil || snap.Revision != head {
			t.Fatalf("Fetch %d: %v", i, err)
		}
		if n := g.packCount(); n > g.maxPacks+1 {
			t.Fatalf("%d packs after fetch %d, want at most %d", n, i, g.maxPacks+1)
		}
	}
}
