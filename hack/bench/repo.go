package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/object"
)

const (
	environmentName = "bench"
	manifestFile    = "environments.bitesize"
)

// serviceName names the i-th service of the environment.
func serviceName(i int) string { return fmt.Sprintf("svc-%03d", i) }

// manifestOf returns an environment of n services bound to ns, each a
// Deployment, Service, Ingress and HPA. Requests and limits are small and
// explicit: the default 2Gi memory request would leave pods Unschedulable.
// versions overrides the file's version of some services.
func manifestOf(ns string, n int, versions map[string]string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "project: bench\nenvironments:\n  - name: %s\n    namespace: %s\n    services:\n", environmentName, ns)
	for i := range n {
		name := serviceName(i)
		version := "1.0.0"
		if v, ok := versions[name]; ok {
			version = v
		}
		fmt.Fprintf(&b, `      - name: %[1]s
        version: %[2]q
        port: 8080
        external_url: %[1]s.example.com
        requests: {cpu: 50m, memory: 64Mi}
        limits: {cpu: 500m, memory: 128Mi}
        hpa: {min_replicas: 1, max_replicas: 3, metric: {name: cpu, target_average_utilization: 70}}
`, name, version)
	}
	return b.String()
}

// repo is the git repository the operator follows.
type repo struct {
	dir string
	git *git.Repository
}

func newRepo(dir string) (*repo, error) {
	r, err := git.PlainInit(dir, false)
	if err != nil {
		return nil, fmt.Errorf("create repository: %w", err)
	}
	return &repo{dir: dir, git: r}, nil
}

// commit writes the manifest and commits it, even when unchanged, and
// returns the new revision.
func (r *repo) commit(content, message string) (string, error) {
	if err := os.WriteFile(filepath.Join(r.dir, manifestFile), []byte(content), 0o644); err != nil {
		return "", err
	}
	wt, err := r.git.Worktree()
	if err != nil {
		return "", err
	}
	if _, err := wt.Add(manifestFile); err != nil {
		return "", fmt.Errorf("git add: %w", err)
	}
	sig := &object.Signature{Name: "bench", Email: "bench@envop.invalid", When: time.Now()}
	hash, err := wt.Commit(message, &git.CommitOptions{Author: sig, AllowEmptyCommits: true})
	if err != nil {
		return "", fmt.Errorf("git commit: %w", err)
	}
	return hash.String(), nil
}
