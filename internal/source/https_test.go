package source

import (
	"cmp"
	"crypto/subtle"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const (
	testUser  = "ci-bot"
	testToken = "glpat-Sup3rS3cretT0ken"
)

// gitHTTPServer serves the bare repositories under root over smart HTTP
// (git http-backend through CGI) behind TLS and basic auth.
func gitHTTPServer(t *testing.T, root string) (*httptest.Server, string) {
	t.Helper()
	return gitHTTPServerSeeing(t, root, nil)
}

// gitHTTPServerSeeing is gitHTTPServer calling seen, when given, with the
// password (or token) of each request that sends one.
func gitHTTPServerSeeing(t *testing.T, root string, seen func(secret string)) (*httptest.Server, string) {
	t.Helper()
	gitBin := requireGit(t)
	backend := &cgi.Handler{
		Path: gitBin,
		Args: []string{"http-backend"},
		Env:  append(gitEnv(t), "GIT_PROJECT_ROOT="+root, "GIT_HTTP_EXPORT_ALL=1"),
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, ok := r.BasicAuth()
		if seen != nil && ok {
			seen(cmp.Or(pass, user))
		}
		if pass == "" {
			// GitHub style: the token as the user name.
			user, pass = testUser, user
		}
		if !ok || user != testUser || subtle.ConstantTimeCompare([]byte(pass), []byte(testToken)) != 1 {
			w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		backend.ServeHTTP(w, r)
	}))
	// Handshakes refused by the client under test are expected.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(caFile, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	return srv, caFile
}

func TestGitHTTPSWithTokenAndCA(t *testing.T) {
	up := newUpstream(t)
	first := up.commit(t, "first", map[string]string{"environments.bitesize": "v1"})
	srv, caFile := gitHTTPServer(t, filepath.Dir(up.bare))
	g := newTestGit(t, GitOptions{
		URL: srv.URL + "/repo.git", Branch: "main",
		Username: testUser, Token: testToken, CAFile: caFile,
	})
	snap, err := g.Fetch(t.Context())
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	if snap.Revision != first || readSnap(t, snap, "environments.bitesize") != "v1" {
		t.Fatalf("revision %s, want %s", snap.Revision, first)
	}
	second := up.commit(t, "second", map[string]string{"environments.bitesize": "v2"})
	if snap, err = g.Fetch(t.Context()); err != nil || snap.Revision != second {
		t.Fatalf("second Fetch: %v", err)
	}
}

func TestGitHTTPSCredentialsInURL(t *testing.T) {
	up := newUpstream(t)
	first := up.commit(t, "first", map[string]string{"environments.bitesize": "v1"})
	srv, caFile := gitHTTPServer(t, filepath.Dir(up.bare))
	host := strings.TrimPrefix(srv.URL, "https://")
	for _, userinfo := range []string{testUser + ":" + testToken, testToken} {
		g := newTestGit(t, GitOptions{URL: "https://" + userinfo + "@" + host + "/repo.git", CAFile: caFile})
		if got, want := g.String(), srv.URL+"/repo.git"; got != want {
			t.Errorf("String() = %q, want %q", got, want)
		}
		snap, err := g.Fetch(t.Context())
		if err != nil || snap.Revision != first {
			t.Fatalf("Fetch with %s@: %v", redactURL("https://"+userinfo+"@x"), err)
		}
	}
}

func TestGitHTTPSWrongTokenIsNotLeaked(t *testing.T) {
	up := newUpstream(t)
	up.commit(t, "first", map[string]string{"environments.bitesize": "v1"})
	srv, caFile := gitHTTPServer(t, filepath.Dir(up.bare))
	host := strings.TrimPrefix(srv.URL, "https://")
	const wrong = "wrong-T0ken-4f9c2a"
	for name, opts := range map[string]GitOptions{
		"options":  {URL: srv.URL + "/repo.git", Username: testUser, Token: wrong},
		"url":      {URL: "https://" + testUser + ":" + wrong + "@" + host + "/repo.git"},
		"url user": {URL: "https://" + wrong + "@" + host + "/repo.git"},
	} {
		t.Run(name, func(t *testing.T) {
			logger, logs := newTestLogger()
			opts.CAFile, opts.Branch, opts.Logger = caFile, "main", logger
			g := newTestGit(t, opts)
			p := NewPoller(g, time.Hour, logger)
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
	up := newUpstream(t)
	first := up.commit(t, "first", map[string]string{"environments.bitesize": "v1"})
	srv, _ := gitHTTPServer(t, filepath.Dir(up.bare))
	opts := GitOptions{URL: srv.URL + "/repo.git", Branch: "main", Username: testUser, Token: testToken}

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
