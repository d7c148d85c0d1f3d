package gitaddr

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	exists := func(p string) bool { return p == "config:v1/repo" }
	for _, tt := range []struct {
		raw  string
		want Form
		err  string
	}{
		{"https://git.example.com/shop/env.git", URL, ""},
		{"HTTP://git.example.com/env.git", URL, ""},
		{"ssh://git@git.example.com:2222/env.git", URL, ""},
		{"file:///srv/git/env.git", URL, ""},
		{"git@git.example.com:shop/env.git", SCP, ""},
		{"git.example.com:shop/env.git", SCP, ""},
		{"config:v1/repo", Path, ""}, // an existing relative path with a colon
		{"../config", Path, ""},
		{"/srv/git/env", Path, ""},
		{"", 0, "no repository given"},
		{"ftp://git.example.com/env.git", 0, `unsupported scheme "ftp"`},
		{"https:///env.git", 0, "no host in the https URL"},
		{"https://user:p%zz@host/env.git", 0, "not a valid URL"},
	} {
		got, err := Parse(tt.raw, exists)
		switch {
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("Parse(%q) error %v, want %q", tt.raw, err, tt.err)
		case tt.err == "" && (err != nil || got != tt.want):
			t.Errorf("Parse(%q) = %v, %v; want %v", tt.raw, got, err, tt.want)
		}
		if err != nil && strings.Contains(err.Error(), "p%zz") {
			t.Errorf("Parse(%q): the error repeats the URL: %v", tt.raw, err)
		}
	}
	if got, _ := Parse("config:v1/repo", nil); got != SCP {
		t.Errorf("without isPath an scp-like string is an ssh address, got %v", got)
	}
}

func TestLocal(t *testing.T) {
	for raw, want := range map[string]bool{
		"../config": true, "/srv/env": true, "file:///srv/env.git": true, "FILE:///srv/env.git": true,
		"https://h/env.git": false, "git@h:env.git": false, "ftp://h/x": false, "": false,
	} {
		if got := Local(raw); got != want {
			t.Errorf("Local(%q) = %v, want %v", raw, got, want)
		}
	}
}

func TestSameServer(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want bool
	}{
		{"https://git.example.com/a.git", "https://GIT.example.com:443/b.git", true},
		{"https://ci:secret@git.example.com/a.git", "https://git.example.com/b.git", true},
		{"git@git.example.com:a.git", "ssh://git.example.com/b.git", true},
		{"git@git.example.com:a.git", "ssh://git@git.example.com:22/b.git", true},
		{"https://git.example.com/a.git", "http://git.example.com/b.git", false},
		{"https://git.example.com/a.git", "https://git.example.com:8443/b.git", false},
		{"https://git.example.com/a.git", "https://git.example.com.evil.test/b.git", false},
		{"https://git.example.com/a.git", "git@git.example.com:b.git", false},
		{"/srv/a", "/srv/a", false},
		{"file:///srv/a", "file:///srv/a", false},
	} {
		if got := SameServer(tt.a, tt.b); got != tt.want {
			t.Errorf("SameServer(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestHasCredentials(t *testing.T) {
	for raw, want := range map[string]bool{
		"https://token@git.example.com/a.git":   true,
		"https://u:p@git.example.com/a.git":     true,
		"ssh://git:p@git.example.com/a.git":     true,
		"ssh://git@git.example.com/a.git":       false,
		"git@git.example.com:a.git":             false,
		"https://git.example.com/a.git":         false,
		"../config":                             false,
		"https://git.example.com/a.git?x=y@z:w": false,
	} {
		if got := HasCredentials(raw); got != want {
			t.Errorf("HasCredentials(%q) = %v, want %v", raw, got, want)
		}
	}
}

func TestCheckBranch(t *testing.T) {
	for _, ok := range []string{"main", "master", "v1.1.0", "release/2024-05", "feature/x_y"} {
		if err := CheckBranch(ok); err != nil {
			t.Errorf("CheckBranch(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", "@", "-x", "/x", "x/", "a//b", "x.", "x.lock", "a..b", "a@{1}", "a/.b", "a b", "a~1", "a^", "a:b", "a?", "a*", "a[", `a\b`, "a\x01"} {
		if err := CheckBranch(bad); err == nil {
			t.Errorf("CheckBranch(%q) = nil, want an error", bad)
		}
	}
}
