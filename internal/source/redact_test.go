package source

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://user:tok3n@git.example.com/org/repo.git":    "https://git.example.com/org/repo.git",
		"https://tok3n@git.example.com/repo?private_token=x": "https://git.example.com/repo",
		"ssh://git@git.example.com:2222/repo.git":            "ssh://git.example.com:2222/repo.git",
		"git@github.com:org/repo.git":                        "git@github.com:org/repo.git",
		"/srv/config":                                        "/srv/config",
		"https://user:tok3n@[::1":                            "https://<redacted>",
	} {
		if got := redactURL(in); got != want {
			t.Errorf("redactURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestScrubbedError(t *testing.T) {
	var s scrubber
	s.add("https://u:p@s/x", "https://s/x")
	s.add("p@ss/w0rd", "<redacted>")
	err := s.err(fmt.Errorf("fetch: %w: token p@ss/w0rd, escaped p%%40ss%%2Fw0rd: %w", ErrAuthentication, context.Canceled))
	if strings.Contains(err.Error(), "w0rd") {
		t.Errorf("secret left in %q", err)
	}
	if !errors.Is(err, ErrAuthentication) {
		t.Errorf("%v does not match ErrAuthentication", err)
	}
	if s.err(nil) != nil {
		t.Error("nil error scrubbed into non-nil")
	}
}
