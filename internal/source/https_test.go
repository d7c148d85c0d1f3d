package source

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/envop/envop/internal/testgit"
	"github.com/envop/envop/internal/testlog"
)

// The https tests serve repositories with testgit.ServeTLS(t, testToken):
// smart HTTP behind TLS and basic authentication, the token as the password
// or as the user name (as GitHub takes it).
const (
	testUser  = "ci-bot"
	testToken = "glpat-Sup3rS3cretT0ken"
)

func TestGitHTTPSWithTokenAndCA(t *testing.T) {
	up := testgit.NewRepo(t)
	first := up.Commit("first", map[string]string{"environments.bitesize": "v1"})
	srv := testgit.ServeTLS(t, testToken)
	g := newTestGit(t, GitOptions{
		URL: srv.Add(up.Bare), Branch: "main",
		Username: testUser, Token: testToken, CAFile: srv.CAFile(),
	})
	snap, err := g.Fetch(t.Context())
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	if snap.Revision != first || readSnap(t, snap, "environments.bitesize") != "v1" {
		t.Fatalf("revision %s, want %s", snap.Revision, first)
	}
	second := up.Commit("second", map[string]string{"environments.bitesize": "v2"})
	if snap, err = g.Fetch(t.Context()); err != nil || snap.Revision != second {
		t.Fatalf("second Fetch: %v", err)
	}
}

func TestGitHTTPSCredentialsInURL(t *testing.T) {
	up := testgit.NewRepo(t)
	first := up.Commit("first", map[string]string{"environments.bitesize": "v1"})
	srv := testgit.ServeTLS(t, testToken)
	url := srv.Add(up.Bare)
	for _, userinfo := range []string{testUser + ":" + testToken, testToken} {
		g := newTestGit(t, GitOptions{URL: strings.Replace(url, "https://", "https://"+userinfo+"@", 1), CAFile: srv.CAFile()})
		if got := g.String(); got != url {
			t.Errorf("String() = %q, want %q", got, url)
		}
		snap, err := g.Fetch(t.Context())
		if err != nil || snap.Revision != first {
			t.Fatalf("Fetch with %s@: %v", redactURL("https://"+userinfo+"@x"), err)
		}
	}
}

func TestGitHTTPSWrongTokenIsNotLeaked(t *testing.T) {
	up := testgit.NewRepo(t)
	up.Commit("first", map[string]string{"environments.bitesize": "v1"})
	srv := testgit.ServeTLS(t, testToken)
	url := srv.Add(up.Bare)
	const wrong = "wrong-T0ken-4f9c2a"
	for name, opts := range map[string]GitOptions{
		"options":  {URL: url, Username: testUser, Token: wrong},
		"url":      {URL: strings.Replace(url, "https://", "https://"+testUser+":"+wrong+"@", 1)},
		"url user": {URL: strings.Replace(url, "https://", "https://"+wrong+"@", 1)},
	} {
		t.Run(name, func(t *testing.T) {
			logger, logs := testlog.New()
			opts.CAFile, opts.Branch, opts.Logger = srv.CAFile(), "main", logger
			g := newTestGit(t, opts)
			p := NewPoller(g, time.Hour, 0, logger)
			_, err := g.Fetch(t.Context())
			if err == nil {
				t.Fatal("Fetch with a wrong token succeeded")
			}
			if !errors.Is(err, ErrAuthentication) {
				t.Errorf("err = %v, want ErrAuthentication", err)
			}
			t.Logf("error: %v", err)
			p.record(nil, err)
			for what, s := range map[string]string{"error": err.Error(), "String()": g.String(), "logs": logs.String()} {
				if strings.Contains(s, wrong) {
					t.Errorf("%s holds the token: %s", what, s)
				}
			}
		})
	}
}

func TestGitHTTPSVerifiesTLS(t *testing.T) {
	up := testgit.NewRepo(t)
	first := up.Commit("first", map[string]string{"environments.bitesize": "v1"})
	srv := testgit.ServeTLS(t, testToken)
	opts := GitOptions{URL: srv.Add(up.Bare), Branch: "main", Username: testUser, Token: testToken}

	_, err := newTestGit(t, opts).Fetch(t.Context())
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("err = %v, want a certificate verification error", err)
	}
	t.Logf("error: %v", err)
	if strings.Contains(err.Error(), testToken) {
		t.Errorf("error holds the token: %v", err)
	}

	opts.InsecureSkipTLSVerify = true
	snap, err := newTestGit(t, opts).Fetch(t.Context())
	if err != nil || snap.Revision != first {
		t.Fatalf("Fetch with InsecureSkipTLSVerify: %v", err)
	}
}
