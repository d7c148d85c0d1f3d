package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// operatorArgs are the settings of one `envop serve` process.
type operatorArgs struct {
	name       string // for its log file
	dir        string
	kubeconfig string
	namespace  string
	repo       string // the repository's folder
	remote     string // where the operator fetches it: the git server's URL, or repo
	poll       time.Duration
	tokenFile  string
	secretFile string
}

// operatorProc is a running `envop serve` and a client of its API.
type operatorProc struct {
	cmd     *exec.Cmd
	logPath string
	exited  chan error
	api
}

// startOperator starts `envop serve` on a free loopback port. The resync
// interval is an hour so that only what a phase triggers is measured.
func startOperator(envop string, a operatorArgs, client api) (*operatorProc, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	p := &operatorProc{logPath: filepath.Join(a.dir, a.name+".log"), exited: make(chan error, 1), api: client}
	p.url = "http://" + addr
	logFile, err := os.Create(p.logPath)
	if err != nil {
		return nil, err
	}
	p.cmd = exec.Command(envop, "serve",
		"--kubeconfig", a.kubeconfig, "--namespace", a.namespace, "--environment", environmentName,
		"--git-repo", a.remote, "--listen", addr, "--poll-interval", a.poll.String(),
		"--resync-interval", "1h", "--auth-token-file", a.tokenFile, "--webhook-secret-file", a.secretFile)
	p.cmd.Stdout, p.cmd.Stderr = logFile, logFile
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := p.cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start the operator: %w", err)
	}
	go func() { p.exited <- p.cmd.Wait(); logFile.Close() }()
	return p, nil
}

// waitReady waits for /readyz: the operator answers it once the first
// revision is applied.
func (p *operatorProc) waitReady(ctx context.Context, timeout time.Duration) error {
	return poll(ctx, timeout, 25*time.Millisecond, "operator ready", func(ctx context.Context) (bool, error) {
		select {
		case err := <-p.exited:
			p.exited <- err
			return false, permanent{fmt.Errorf("the operator exited (%v); its log ends with:\n%s", err, tail(p.logPath, 15))}
		default:
		}
		code, err := p.get(ctx, "/readyz", nil)
		return code == http.StatusOK, err
	})
}

// stop asks the operator to stop and kills it after 15 seconds.
func (p *operatorProc) stop() {
	if p == nil || p.cmd.Process == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.exited:
		p.exited <- err
	case <-time.After(15 * time.Second):
		_ = p.cmd.Process.Kill()
	}
}

// memory returns the peak (VmHWM) and current (VmRSS) resident set in bytes.
func (p *operatorProc) memory() (peak, current int64, err error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0, 0, fmt.Errorf("read the operator's memory: %w", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		key, val, _ := strings.Cut(line, ":")
		kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(val), " kB"), 10, 64)
		switch key {
		case "VmHWM":
			peak = kb << 10
		case "VmRSS":
			current = kb << 10
		}
	}
	return peak, current, nil
}

// cpuTime is the user and system CPU time the operator has used so far.
func (p *operatorProc) cpuTime() (time.Duration, error) { return cpuOf(p.cmd.Process.Pid) }

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// tail returns the last lines of a log file, to explain a failure.
func tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return lastLines(string(data), n)
}
