package trials

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/envop/envop/internal/operator"
	"github.com/envop/envop/internal/testcluster"
)

const (
	deployToken = "trial-deploy-token"
	webhookKey  = "trial-hook-secret"
	envName     = "trial"
)

// proc is one `envop serve` process, restartable on the same address with
// the same least-privilege ServiceAccount, files and flags.
type proc struct {
	t       *testing.T
	ns      string
	addr    string
	args    []string
	env     []string
	logPath string
	cmd     *exec.Cmd
	exited  chan struct{}
	starts  int
	client  *http.Client
}

// newProc prepares an operator for ns reading repo; extra are more serve
// flags. It is stopped when the test ends.
func newProc(t *testing.T, ns, repo string, extra ...string) *proc {
	t.Helper()
	dir := t.TempDir()
	cfg, _ := testcluster.ServiceAccountClient(t, ns, "envop", operator.RequiredRules())
	kubeconfig := filepath.Join(dir, "kubeconfig")
	writeKubeconfig(t, cfg, ns, kubeconfig)
	tokens := filepath.Join(dir, "tokens")
	hook := filepath.Join(dir, "webhook")
	writeFile(t, tokens, deployToken+" ci deploy\n")
	writeFile(t, hook, webhookKey)
	p := &proc{
		t: t, ns: ns, addr: freeAddr(t), logPath: filepath.Join(dir, "envop.log"),
		client: &http.Client{Timeout: 3 * time.Minute},
	}
	p.args = append([]string{"serve",
		"--kubeconfig", kubeconfig, "--namespace", ns, "--environment", envName,
		"--git-repo", repo, "--listen", p.addr,
		"--auth-token-file", tokens, "--webhook-secret-file", hook, "--log-level", "debug",
	}, extra...)
	t.Cleanup(p.stop)
	return p
}

// start runs the operator and waits until it has applied a revision.
func (p *proc) start() {
	p.t.Helper()
	logFile, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		p.t.Fatal(err)
	}
	cmd := exec.Command(envopBin, p.args...)
	cmd.Env = append(os.Environ(), p.env...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		p.t.Fatalf("start envop: %v", err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		logFile.Close()
		close(exited)
	}()
	p.cmd, p.exited = cmd, exited
	p.starts++
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if code, _, err := p.get("/readyz", false); err == nil && code == http.StatusOK {
			return
		}
		select {
		case <-exited:
			p.t.Fatalf("envop exited before it was ready:\n%s", p.logTail(30))
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("envop not ready after 2m:\n%s", p.logTail(30))
		}
	}
}

func (p *proc) running() bool {
	if p.cmd == nil {
		return false
	}
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

// kill sends SIGKILL and waits for the process to be gone.
func (p *proc) kill() {
	if !p.running() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
}

// stop asks the operator to stop, then kills it after a grace period.
func (p *proc) stop() {
	if !p.running() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(20 * time.Second):
		p.t.Errorf("envop did not stop within 20s of SIGTERM")
		p.kill()
	}
}

func (p *proc) logTail(n int) string {
	data, _ := os.ReadFile(p.logPath)
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// call sends a JSON request with the deploy token; it returns the status
// code and body, or the transport error.
func (p *proc) call(method, path string, body any) (int, []byte, error) {
	return p.callCtx(p.t.Context(), method, path, body)
}

func (p *proc) callCtx(ctx context.Context, method, path string, body any) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		data, _ := json.Marshal(body)
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://"+p.addr+path, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+deployToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := p.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	return resp.StatusCode, data, err
}

func (p *proc) get(path string, auth bool) (int, []byte, error) {
	if auth {
		return p.call("GET", path, nil)
	}
	resp, err := p.client.Get("http://" + p.addr + path)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return resp.StatusCode, data, err
}

// must calls and decodes a JSON answer, failing the test on a transport
// error or another status code than want.
func (p *proc) must(method, path string, body any, want int, out any) {
	p.t.Helper()
	code, data, err := p.call(method, path, body)
	if err != nil {
		p.t.Fatalf("%s %s: %v", method, path, err)
	}
	if code != want {
		p.t.Fatalf("%s %s = %d %s, want %d", method, path, code, data, want)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			p.t.Fatalf("%s %s: decode %q: %v", method, path, data, err)
		}
	}
}

// Views of the API's answers.
type deployView struct {
	ID, Service, Version, Status, Reason, Message string
	StartedAt                                     time.Time  `json:"started_at"`
	FinishedAt                                    *time.Time `json:"finished_at"`
}

type serviceView struct {
	Name, Version, Status, Reason, Message string
}

type statusView struct {
	Revision string
	Sync     struct{ Status, Error string }
	Status   string
	Services []serviceView
}

type auditRecord struct {
	Time                                             time.Time
	Actor, Action, Service, Version, Result, Message string
}

func (p *proc) status() (statusView, error) {
	var s statusView
	code, data, err := p.call("GET", "/status", nil)
	if err != nil {
		return s, err
	}
	if code != http.StatusOK {
		return s, fmt.Errorf("GET /status = %d %s", code, data)
	}
	return s, json.Unmarshal(data, &s)
}

func (p *proc) wait(id string, timeout time.Duration) deployView {
	p.t.Helper()
	var d deployView
	p.must("GET", fmt.Sprintf("/deploys/%s?wait=%s", id, timeout), nil, http.StatusOK, &d)
	return d
}

// deployRecords returns the service's audit records of accepted deploys by
// deploy id (the id is the second word of their message).
func (p *proc) deployRecords(service string) map[string][]auditRecord {
	p.t.Helper()
	var records []auditRecord
	p.must("GET", "/audit?service="+service+"&limit=1000", nil, http.StatusOK, &records)
	out := map[string][]auditRecord{}
	for _, r := range records {
		// One record per accepted call; the one a deploy gets when it
		// ends is not counted.
		if f := strings.Fields(r.Message); r.Action == "deploy" && r.Result == "accepted" && len(f) > 1 {
			out[f[1]] = append(out[f[1]], r)
		}
	}
	return out
}

// eventually polls cond every 200ms until it holds or timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) time.Duration {
	t.Helper()
	start := time.Now()
	last := ""
	for time.Since(start) < timeout {
		ok, why := cond()
		if ok {
			return time.Since(start)
		}
		last = why
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("%s: not after %s (last: %s)", what, timeout, last)
	return 0
}

// allGreenAt reports whether every service of s runs version and is green.
func allGreenAt(s statusView, n int, version string) (bool, string) {
	good, lagging := 0, ""
	for _, svc := range s.Services {
		if svc.Version == version && svc.Status == "green" {
			good++
		} else if lagging == "" {
			lagging = fmt.Sprintf("; first not green at %s: %s at %q %s %s: %s", version, svc.Name, svc.Version, svc.Status, svc.Reason, svc.Message)
		}
	}
	return good == n && len(s.Services) == n, fmt.Sprintf("%d/%d green at %s, sync %s %s%s", good, n, version, s.Sync.Status, s.Sync.Error, lagging)
}

func writeKubeconfig(t *testing.T, cfg *rest.Config, ns, path string) {
	t.Helper()
	ca := cfg.CAData
	if len(ca) == 0 && cfg.CAFile != "" {
		var err error
		if ca, err = os.ReadFile(cfg.CAFile); err != nil {
			t.Fatal(err)
		}
	}
	kc := clientcmdapi.NewConfig()
	kc.Clusters["local"] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: ca}
	kc.AuthInfos["envop"] = &clientcmdapi.AuthInfo{Token: cfg.BearerToken}
	kc.Contexts["envop"] = &clientcmdapi.Context{Cluster: "local", AuthInfo: "envop", Namespace: ns}
	kc.CurrentContext = "envop"
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// freeAddr returns a loopback address free at the time of the call.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// manifest is an environment in ns with one service per "name=version".
func manifest(ns string, services ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "project: trials\nenvironments:\n  - name: %s\n    namespace: %s\n    services:\n", envName, ns)
	for _, s := range services {
		name, version, _ := strings.Cut(s, "=")
		fmt.Fprintf(&b, "      - name: %s\n        version: %s\n        port: 8080\n        requests: {cpu: 10m, memory: 16Mi}\n", name, strconv.Quote(version))
	}
	return b.String()
}

// servicesAt names n services svc-000... at version.
func servicesAt(n int, version string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("svc-%03d=%s", i, version)
	}
	return out
}
