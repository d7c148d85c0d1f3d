package testgit

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// lsRemote runs git ls-remote url HEAD as a client would, with extra
// environment.
func lsRemote(t *testing.T, url string, env ...string) (string, error) {
	cmd := exec.Command("git", "ls-remote", url, "HEAD")
	cmd.Env = append(append(Env(t), "GIT_TERMINAL_PROMPT=0"), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestServe reads the served repositories with the git binary, as a client
// would: bare and work tree, with and without the token, stopped and
// started again.
func TestServe(t *testing.T) {
	r := NewRepo(t)
	head := r.Commit("first", map[string]string{"a/b.txt": "b"})
	s := Serve(t, "s3cret")
	bare, work := s.Add(r.Bare), s.Add(r.Work)
	withToken := func(url string) string { return strings.Replace(url, "http://", "http://ci:s3cret@", 1) }
	for _, url := range []string{bare, work} {
		if out, err := lsRemote(t, withToken(url)); err != nil || !strings.HasPrefix(out, head) {
			t.Errorf("ls-remote %s: %v %s, want %s", url, err, out, head)
		}
	}
	if out, err := lsRemote(t, bare); err == nil {
		t.Errorf("without the token: %s", out)
	}
	s.Stop()
	if out, err := lsRemote(t, withToken(bare)); err == nil {
		t.Errorf("stopped: %s", out)
	}
	s.Start()
	if out, err := lsRemote(t, withToken(bare)); err != nil || !strings.HasPrefix(out, head) {
		t.Errorf("started again: %v %s", err, out)
	}
	if !slices.Contains(s.Secrets(), "s3cret") {
		t.Errorf("Secrets() = %q, want the token among them", s.Secrets())
	}
}

// TestServeTLS: the CA file verifies the server, before and after a stop
// and start, and a client without it refuses the server; the token may be
// the user name.
func TestServeTLS(t *testing.T) {
	r := NewNamedRepo(t, "env.git")
	head := r.Commit("first", nil)
	s := ServeTLS(t, "s3cret")
	url := s.Add(r.Bare)
	if want := s.URL() + "/env.git"; url != want || !strings.HasPrefix(url, "https://127.0.0.1:") {
		t.Fatalf("Add = %s, want %s on https", url, want)
	}
	withToken := strings.Replace(url, "https://", "https://s3cret@", 1)
	ca := "GIT_SSL_CAINFO=" + s.CAFile()
	if out, err := lsRemote(t, withToken, ca); err != nil || !strings.HasPrefix(out, head) {
		t.Errorf("with the CA file: %v %s", err, out)
	}
	if out, err := lsRemote(t, withToken); err == nil || !strings.Contains(out, "certificate") {
		t.Errorf("without the CA file: %v %s, want a certificate error", err, out)
	}
	s.Stop()
	s.Start()
	if out, err := lsRemote(t, withToken, ca); err != nil || !strings.HasPrefix(out, head) {
		t.Errorf("started again, with the same CA file: %v %s", err, out)
	}
}

// TestRepo: Commit pushes the current branch; a work tree alone commits.
func TestRepo(t *testing.T) {
	r := NewRepo(t)
	r.Commit("main", map[string]string{"f": "main"})
	r.Git("checkout", "-q", "-b", "staging")
	staging := r.Commit("staging", map[string]string{"f": "staging"})
	if got := Git(t, Env(t), r.Bare, "rev-parse", "staging"); got != staging {
		t.Errorf("bare staging at %s, want %s", got, staging)
	}

	w := NewWorkTree(t)
	head := w.Commit("first", map[string]string{"d/f": "x"})
	if w.Bare != "" || w.Git("rev-parse", "HEAD") != head || w.Git("show", "HEAD:d/f") != "x" {
		t.Errorf("work tree alone: Bare %q, HEAD %s, want %s holding d/f", w.Bare, w.Git("rev-parse", "HEAD"), head)
	}
}
