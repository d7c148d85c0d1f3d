package testgit

import (
	"os/exec"
	"strings"
	"testing"
)

// TestServe reads the served repositories with the git binary, as a client
// would: bare and work tree, with and without the token, stopped and
// started again.
func TestServe(t *testing.T) {
	r := NewRepo(t)
	head := r.Commit("first", map[string]string{"a/b.txt": "b"})
	s := Serve(t, "s3cret")
	bare, work := s.Add(r.Bare), s.Add(r.Work)
	env := Env(t)
	lsRemote := func(url string) (string, error) {
		cmd := exec.Command("git", "ls-remote", url, "HEAD")
		cmd.Env = append(env, "GIT_TERMINAL_PROMPT=0")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	withToken := func(url string) string { return strings.Replace(url, "http://", "http://ci:s3cret@", 1) }
	for _, url := range []string{bare, work} {
		if out, err := lsRemote(withToken(url)); err != nil || !strings.HasPrefix(out, head) {
			t.Errorf("ls-remote %s: %v %s, want %s", url, err, out, head)
		}
	}
	if out, err := lsRemote(bare); err == nil {
		t.Errorf("without the token: %s", out)
	}
	s.Stop()
	if out, err := lsRemote(withToken(bare)); err == nil {
		t.Errorf("stopped: %s", out)
	}
	s.Start()
	if out, err := lsRemote(withToken(bare)); err != nil || !strings.HasPrefix(out, head) {
		t.Errorf("started again: %v %s", err, out)
	}
}
