// Package githttp serves git repositories over smart HTTP with the git
// binary's own http-backend: what the tests and the benchmark fetch from,
// a real git server on loopback.
package githttp

import (
	"net/http"
	"net/http/cgi"
	"os/exec"
	"path/filepath"
)

// Backend runs `git http-backend` for the repository in dir (bare, or a
// work tree whose .git it serves), which answers at /NAME with NAME dir's
// base name. env is the environment of the git process (at least PATH and
// HOME); every repository under dir's parent is exported.
func Backend(dir string, env []string) http.Handler {
	gitBin, err := exec.LookPath("git")
	if err != nil {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "no git binary", http.StatusInternalServerError)
		})
	}
	return &cgi.Handler{Path: gitBin, Args: []string{"http-backend"},
		Env: append(append([]string(nil), env...), "GIT_PROJECT_ROOT="+filepath.Dir(dir), "GIT_HTTP_EXPORT_ALL=1")}
}
