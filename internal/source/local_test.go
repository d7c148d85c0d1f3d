package source

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/envop/envop/internal/testgit"
	"github.com/envop/envop/internal/testlog"
)

func TestLocalFolder(t *testing.T) {
	dir := t.TempDir()
	testgit.WriteFiles(t, dir, map[string]string{"environments.bitesize": "v1", "gists/a.conf": "a"})
	src, err := NewLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.(*Local).Close() })

	first, err := src.Fetch(t.Context())
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	if first.Revision == "" || readSnap(t, first, "gists/a.conf") != "a" {
		t.Fatalf("first snapshot %q", first.Revision)
	}
	// Unchanged content, even with a new modification time: same revision.
	testgit.WriteFiles(t, dir, map[string]string{"environments.bitesize": "v1"})
	again, err := src.Fetch(t.Context())
	if err != nil || again.Revision != first.Revision {
		t.Fatalf("unchanged folder: %v, revision %s → %s", err, first.Revision, again.Revision)
	}

	testgit.WriteFiles(t, dir, map[string]string{"environments.bitesize": "v2"})
	second, err := src.Fetch(t.Context())
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	if second.Revision == first.Revision || readSnap(t, second, "environments.bitesize") != "v2" {
		t.Fatalf("changed folder: revision %s → %s", first.Revision, second.Revision)
	}
	// The first snapshot is a copy: editing the folder does not change it.
	if readSnap(t, first, "environments.bitesize") != "v1" {
		t.Error("first snapshot changed with the folder")
	}

	// Renaming a file changes the revision even though content is equal.
	if err := os.Rename(filepath.Join(dir, "gists/a.conf"), filepath.Join(dir, "gists/b.conf")); err != nil {
		t.Fatal(err)
	}
	third, err := src.Fetch(t.Context())
	if err != nil || third.Revision == second.Revision {
		t.Fatalf("renamed file: %v, revision unchanged %v", err, third.Revision == second.Revision)
	}
}

func TestLocalFolderSkipsSymlinks(t *testing.T) {
	dir := t.TempDir()
	testgit.WriteFiles(t, dir, map[string]string{"environments.bitesize": "v1"})
	if err := os.Symlink("/etc/passwd", filepath.Join(dir, "passwd")); err != nil {
		t.Fatal("create a symlink:", err)
	}
	src, err := NewLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	snap, err := src.Fetch(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := snap.Files.Open("passwd"); err == nil {
		t.Error("symlink followed into the snapshot")
	}
}

func TestLocalGitRepository(t *testing.T) {
	up := testgit.NewRepo(t)
	first := up.Commit("first", map[string]string{"environments.bitesize": "v1"})
	src, err := New(up.Work, GitOptions{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := src.(*Local); !ok {
		t.Fatalf("New(local path) = %T, want *Local", src)
	}
	snap, err := src.Fetch(t.Context())
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	if snap.Revision != first || snap.Message != "first" {
		t.Fatalf("revision %s %q, want %s", snap.Revision, snap.Message, first)
	}
	// Uncommitted changes are not part of the revision.
	testgit.WriteFiles(t, up.Work, map[string]string{"environments.bitesize": "dirty"})
	if snap, err = src.Fetch(t.Context()); err != nil || readSnap(t, snap, "environments.bitesize") != "v1" {
		t.Fatalf("uncommitted change leaked: %v", err)
	}
	second := up.Commit("second", map[string]string{"environments.bitesize": "v2"})
	if snap, err = src.Fetch(t.Context()); err != nil || snap.Revision != second {
		t.Fatalf("new commit: %v", err)
	}
	if readSnap(t, snap, "environments.bitesize") != "v2" {
		t.Fatal("new commit content missing")
	}
}

func TestLocalGitBranch(t *testing.T) {
	up := testgit.NewRepo(t)
	main := up.Commit("main", map[string]string{"environments.bitesize": "main"})
	up.Git("checkout", "-q", "-b", "staging")
	up.Commit("staging", map[string]string{"environments.bitesize": "staging"})

	src, err := New(up.Bare, GitOptions{Branch: "main", Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if snap, err := src.Fetch(t.Context()); err != nil || snap.Revision != main {
		t.Fatalf("Fetch main: %v", err)
	}
	src, err = New(up.Bare, GitOptions{Branch: "nope", Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := src.Fetch(t.Context()); !errors.Is(err, ErrBranchNotFound) {
		t.Fatalf("err = %v, want ErrBranchNotFound", err)
	}
}

func TestNewDispatch(t *testing.T) {
	dir := t.TempDir()
	for url, want := range map[string]string{
		"https://host/org/repo.git":         "*source.Git",
		"http://host/org/repo.git":          "*source.Git",
		"file:///srv/repo.git":              "*source.Git",
		"git@github.com:org/repo.git":       "*source.Git",
		"git@git.example.com:/srv/repo.git": "*source.Git",
		"ssh://git@github.com/org/repo.git": "*source.Git",
		dir:                                 "*source.Local",
		"ftp://host/repo":                   "error",
		"":                                  "error",
		filepath.Join(dir, "missing"):       "error",
	} {
		log, _ := testlog.New()
		opts := GitOptions{Dir: t.TempDir(), PrivateKey: testKey(t), InsecureIgnoreHostKey: true, Logger: log}
		src, err := New(url, opts)
		got := "error"
		if err == nil {
			got = typeName(src)
		}
		if got != want {
			t.Errorf("New(%q) = %s (%v), want %s", url, got, err, want)
		}
	}
}

func testKey(t *testing.T) []byte {
	key, _ := newClientKey(t, "")
	return key
}

func typeName(v any) string {
	switch v.(type) {
	case *Git:
		return "*source.Git"
	case *Local:
		return "*source.Local"
	}
	return "other"
}
