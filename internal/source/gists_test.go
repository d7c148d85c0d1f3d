package source

import (
	"context"
	"errors"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/envop/envop/internal/testgit"
)

// locateFile reads the gists repository from a file "gists.ref" of the
// tree, "URL [BRANCH]", as the operator reads gists_repository from the
// manifest.
func locateFile(tree fs.FS) Ref {
	data, err := fs.ReadFile(tree, "gists.ref")
	if err != nil {
		return Ref{}
	}
	url, branch, _ := strings.Cut(strings.TrimSpace(string(data)), " ")
	return Ref{URL: url, Branch: branch}
}

func TestGistsFollowsTheRepositoryTheFileNames(t *testing.T) {
	main, gists := testgit.NewRepo(t), testgit.NewRepo(t)
	gists.Commit("config", map[string]string{"app.conf": "a=1"})
	staging := gists.Commit("staging", nil)
	gists.Git("push", "-q", "origin", "HEAD:staging")
	gistsMain := gists.Commit("config 2", map[string]string{"app.conf": "a=2"})
	first := main.Commit("first", map[string]string{"gists.ref": fileURL(gists.Bare)})
	g := WithGists(newTestGit(t, GitOptions{URL: fileURL(main.Bare), Branch: "main"}), GistsOptions{
		Locate: locateFile, Repository: fileURL(main.Bare), Git: GitOptions{Logger: discardLogger()},
	})
	t.Cleanup(func() { g.Close() })

	snap, err := g.Fetch(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if snap.Revision != first || snap.GistsRevision() != gistsMain || readSnap(t, snap.Gists, "app.conf") != "a=2" {
		t.Fatalf("revision %s gists %s, want %s and the gists repository's HEAD %s", snap.Revision, snap.GistsRevision(), first, gistsMain)
	}
	if snap.GistsRepository != fileURL(gists.Bare) {
		t.Errorf("GistsRepository = %q", snap.GistsRepository)
	}
	if again, err := g.Fetch(t.Context()); err != nil || again != snap {
		t.Errorf("a Fetch with nothing new returned another snapshot: %v", err)
	}

	// A commit to the gists repository alone is a new snapshot of the same
	// revision of the repository.
	third := gists.Commit("config 3", map[string]string{"app.conf": "a=3"})
	if snap, err = g.Fetch(t.Context()); err != nil || snap.Revision != first || snap.GistsRevision() != third {
		t.Fatalf("after a gists commit: %v, revision %s gists %s", err, snap.Revision, snap.GistsRevision())
	}

	// The file names a branch, then no gists repository.
	main.Commit("branch", map[string]string{"gists.ref": fileURL(gists.Bare) + " staging"})
	if snap, err = g.Fetch(t.Context()); err != nil || snap.GistsRevision() != staging {
		t.Fatalf("with branch staging: %v, gists %s, want %s", err, snap.GistsRevision(), staging)
	}
	main.Commit("none", map[string]string{"gists.ref": ""})
	if snap, err = g.Fetch(t.Context()); err != nil || snap.Gists != nil || snap.GistsRevision() != "" {
		t.Fatalf("without a gists repository: %v, gists %v", err, snap.Gists)
	}
}

func TestGistsFetchFailureNamesTheGistsRepository(t *testing.T) {
	main := testgit.NewRepo(t)
	missing := filepath.Join(t.TempDir(), "nope.git")
	main.Commit("first", map[string]string{"gists.ref": fileURL(missing)})
	g := WithGists(newTestGit(t, GitOptions{URL: fileURL(main.Bare), Branch: "main"}), GistsOptions{
		Locate: locateFile, Repository: fileURL(main.Bare), Git: GitOptions{Logger: discardLogger()},
	})
	_, err := g.Fetch(t.Context())
	if err == nil || !strings.Contains(err.Error(), "gists repository") || !strings.Contains(err.Error(), missing) {
		t.Fatalf("err = %v, want one naming the gists repository %s", err, missing)
	}
}

// stubSource is a Source of one fixed tree.
type stubSource struct{ snap *Snapshot }

func (s stubSource) Fetch(context.Context) (*Snapshot, error) { return s.snap, nil }
func (s stubSource) String() string                           { return "stub" }

func TestGistsLocalOnlyForALocalRepository(t *testing.T) {
	gists := testgit.NewRepo(t)
	gists.Commit("config", map[string]string{"app.conf": "a=1"})
	for _, ref := range []string{gists.Work, fileURL(gists.Bare)} {
		main := stubSource{&Snapshot{Revision: "r1", Files: fstest.MapFS{"gists.ref": {Data: []byte(ref)}}}}
		g := WithGists(main, GistsOptions{Locate: locateFile, Repository: "https://git.example.com/env.git",
			Git: GitOptions{Logger: discardLogger()}})
		_, err := g.Fetch(t.Context())
		if err == nil || !strings.Contains(err.Error(), "followed only by an operator whose own repository is local") {
			t.Errorf("gists repository %s of a remote repository: err = %v, want it refused", ref, err)
		}
	}

	// A local repository may name a local gists repository, a relative
	// path being read from the repository's folder.
	main := testgit.NewRepo(t)
	rel, err := filepath.Rel(main.Work, gists.Work)
	if err != nil {
		t.Fatal(err)
	}
	main.Commit("first", map[string]string{"gists.ref": rel})
	src, err := New(main.Work, GitOptions{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	g := WithGists(src, GistsOptions{Locate: locateFile, Repository: main.Work, Git: GitOptions{Logger: discardLogger()}})
	t.Cleanup(func() { g.Close() })
	snap, err := g.Fetch(t.Context())
	if err != nil || readSnap(t, snap.Gists, "app.conf") != "a=1" {
		t.Fatalf("a local gists repository %s: %v", rel, err)
	}

	// Relative to a file:// repository's folder too.
	rel, err = filepath.Rel(main.Bare, gists.Work)
	if err != nil {
		t.Fatal(err)
	}
	main.Commit("from the bare", map[string]string{"gists.ref": rel})
	g = WithGists(newTestGit(t, GitOptions{URL: fileURL(main.Bare), Branch: "main"}), GistsOptions{
		Locate: locateFile, Repository: fileURL(main.Bare), Git: GitOptions{Logger: discardLogger()}})
	t.Cleanup(func() { g.Close() })
	if snap, err = g.Fetch(t.Context()); err != nil || readSnap(t, snap.Gists, "app.conf") != "a=1" {
		t.Fatalf("a gists repository %s relative to a file:// repository: %v", rel, err)
	}
}

// TestGistsCredentials checks whose credentials fetch a gists repository:
// GISTS_* when given; else the repository's, on its own server only. A
// server the file names never receives the repository's token.
func TestGistsCredentials(t *testing.T) {
	srv := testgit.ServeTLS(t, testToken)
	srv.Add(testgit.NewNamedRepo(t, "env.git").Bare)
	near := testgit.NewNamedRepo(t, "gists.git")
	near.Commit("config", map[string]string{"app.conf": "near"})
	srv.Add(near.Bare)
	far := testgit.NewRepo(t)
	far.Commit("config", map[string]string{"app.conf": "far"})
	farSrv := testgit.ServeTLS(t, testToken)
	farURL := farSrv.Add(far.Bare)
	const gitToken = "glpat-MainRepoT0kenXyz"
	// Both servers take testToken; the repository's own token stands apart
	// so that a test can tell which was sent.
	mainOpts := GitOptions{URL: srv.URL() + "/env.git", Branch: "main", Username: testUser, Token: testToken, Logger: discardLogger()}
	// gistsOf follows ref from a repository on the first server.
	gistsOf := func(ref string, creds Credentials) *Gists {
		tree := fstest.MapFS{"gists.ref": {Data: []byte(ref)}}
		opts := mainOpts
		opts.CAFile = srv.CAFile()
		if strings.HasPrefix(ref, farURL) {
			opts.CAFile = farSrv.CAFile()
		}
		g := WithGists(stubSource{&Snapshot{Revision: ref, Files: tree}}, GistsOptions{
			Locate: locateFile, Repository: mainOpts.URL, Git: opts, Credentials: creds,
		})
		t.Cleanup(func() { g.Close() })
		return g
	}

	// The repository's server: its credentials serve.
	g := gistsOf(srv.URL()+"/gists.git main", Credentials{})
	if snap, err := g.Fetch(t.Context()); err != nil || readSnap(t, snap.Gists, "app.conf") != "near" {
		t.Fatalf("a gists repository on the repository's server, no GISTS_*: %v", err)
	}

	// Another server: nothing is sent, and the error says what to set.
	mainOpts.Token = gitToken
	g = gistsOf(farURL+" main", Credentials{})
	_, err := g.Fetch(t.Context())
	if !errors.Is(err, ErrAuthentication) || !strings.Contains(err.Error(), "GISTS_USER/GISTS_TOKEN") {
		t.Fatalf("another server without GISTS_*: err = %v, want an authentication error naming GISTS_USER/GISTS_TOKEN", err)
	}
	if slices.Contains(farSrv.Secrets(), gitToken) {
		t.Errorf("the repository's token was sent to another server")
	}

	// GISTS_* given: they serve, whatever the server.
	g = gistsOf(farURL+" main", Credentials{Username: testUser, Token: testToken})
	snap, err := g.Fetch(t.Context())
	if err != nil || readSnap(t, snap.Gists, "app.conf") != "far" {
		t.Fatalf("GISTS_USER/GISTS_TOKEN on another server: %v", err)
	}
	if strings.Contains(snap.GistsRepository, testToken) {
		t.Errorf("GistsRepository holds the token: %s", snap.GistsRepository)
	}
}

func TestPollerCallsBackOnAGistsCommit(t *testing.T) {
	main, gists := testgit.NewRepo(t), testgit.NewRepo(t)
	gists.Commit("config", map[string]string{"app.conf": "a=1"})
	main.Commit("first", map[string]string{"gists.ref": fileURL(gists.Bare)})
	g := WithGists(newTestGit(t, GitOptions{URL: fileURL(main.Bare), Branch: "main"}), GistsOptions{
		Locate: locateFile, Repository: fileURL(main.Bare), Git: GitOptions{Logger: discardLogger()},
	})
	p, events := startPoller(t, g, 200*time.Millisecond)
	first := nextEvent(t, events, 10*time.Second)
	if first.err != nil {
		t.Fatal(first.err)
	}
	second := gists.Commit("config 2", map[string]string{"app.conf": "a=2"})
	ev := nextEvent(t, events, 10*time.Second)
	if ev.err != nil || ev.snap.Revision != first.snap.Revision || ev.snap.GistsRevision() != second {
		t.Fatalf("after a gists commit: %+v, want gists revision %s", ev, second)
	}
	if p.LastRevision() != first.snap.Revision {
		t.Errorf("LastRevision %s", p.LastRevision())
	}
}

// TestGistsOverSSH: a gists repository over ssh authenticates with
// GISTS_PRIVATE_KEY and its host key is checked against the repository's
// GIT_KNOWN_HOSTS.
func TestGistsOverSSH(t *testing.T) {
	gists := testgit.NewRepo(t)
	gists.Commit("config", map[string]string{"app.conf": "ssh"})
	key, pub := newClientKey(t, "")
	srv := newSSHServer(t, filepath.Dir(gists.Bare), pub)
	tree := fstest.MapFS{"gists.ref": {Data: []byte(srv.url() + " main")}}
	gistsOf := func(knownHosts []byte, creds Credentials) *Gists {
		g := WithGists(stubSource{&Snapshot{Revision: "r1", Files: tree}}, GistsOptions{
			Locate: locateFile, Repository: "https://git.example.com/env.git",
			Git:         GitOptions{KnownHosts: knownHosts, Logger: discardLogger()},
			Credentials: creds,
		})
		t.Cleanup(func() { g.Close() })
		return g
	}
	snap, err := gistsOf(srv.knownHosts(srv.hostKey.PublicKey()), Credentials{PrivateKey: key}).Fetch(t.Context())
	if err != nil || readSnap(t, snap.Gists, "app.conf") != "ssh" {
		t.Fatalf("over ssh with GISTS_PRIVATE_KEY and a known host: %v", err)
	}
	_, err = gistsOf(srv.knownHosts(newSigner(t).PublicKey()), Credentials{PrivateKey: key}).Fetch(t.Context())
	if !errors.Is(err, ErrHostKey) {
		t.Errorf("another host key: err = %v, want ErrHostKey", err)
	}
	_, err = gistsOf(srv.knownHosts(srv.hostKey.PublicKey()), Credentials{}).Fetch(t.Context())
	if err == nil || !strings.Contains(err.Error(), "set GISTS_PRIVATE_KEY") {
		t.Errorf("no key for another server: err = %v, want it to ask for GISTS_PRIVATE_KEY", err)
	}
}
