package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// operate runs the operator until ctx ends, printing where to look once it
// has applied the sample.
func operate(ctx context.Context, d *demo, envop string) error {
	logPath := filepath.Join(d.work, "envop.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer logFile.Close()
	cmd := exec.Command(envop, "serve",
		"--kubeconfig", d.kubeconfig, "--namespace", namespace, "--environment", environment,
		"--git-repo", d.repo, "--listen", listen, "--poll-interval", "5s",
		"--auth-token-file", d.tokenFile)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start the operator: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	if err := waitReady(ctx, exited, logPath); err != nil {
		_ = cmd.Process.Kill()
		return err
	}
	printNext(d, logPath)
	select {
	case <-ctx.Done():
		fmt.Println("\ndemo: stopping the operator")
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
		}
		return nil
	case err := <-exited:
		return fmt.Errorf("the operator exited (%v); see %s", err, logPath)
	}
}

func waitReady(ctx context.Context, exited <-chan error, logPath string) error {
	fmt.Println("demo: waiting for the operator to apply the sample environment")
	deadline := time.After(2 * time.Minute)
	for {
		resp, err := http.Get("http://" + listen + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-exited:
			return fmt.Errorf("the operator exited (%v); see %s", err, logPath)
		case <-deadline:
			return fmt.Errorf("the operator is not ready after 2 minutes; see %s", logPath)
		case <-time.After(300 * time.Millisecond):
		}
	}
}

func printNext(d *demo, logPath string) {
	fmt.Printf(`
Environment Operator is running the sample environment %q in namespace %q.

  Status page:   http://%[3]s/
                 sign in by pasting the API token into the page's token field
  API token:     %[4]s
                 (role admin: it can deploy; keep it out of links, chats and tickets)
  Status (API):  curl -s -H 'Authorization: Bearer %[4]s' http://%[3]s/status
  Deploy:        curl -s -X POST -H 'Authorization: Bearer %[4]s' -H 'Content-Type: application/json' -d '{"name":"web","version":"1.1.0"}' http://%[3]s/deploy
  Failing one:   curl -s -X POST -H 'Authorization: Bearer %[4]s' -H 'Content-Type: application/json' -d '{"name":"web","version":"1.2.0-crashloop"}' http://%[3]s/deploy
  Metrics:       curl -s http://%[3]s/metrics | grep ^envop_
  Cluster:       kubectl --kubeconfig %[5]s -n %[2]s get deploy,pods,svc,ingress,hpa
  Operator log:  %[6]s

Change the environment: edit %[7]s/environments.bitesize, then
  git -C %[7]s commit -am "my change"
and the operator applies it within 5 seconds.

Ctrl-C stops everything the demo started.
`, environment, namespace, listen, d.token, filepath.Join(filepath.Dir(d.work), "admin.kubeconfig"), logPath, d.repo)
}
