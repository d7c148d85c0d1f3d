package localcluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// Component names, in start order; they are also the binary names.
const (
	etcdName      = "etcd"
	apiserverName = "kube-apiserver"
	kcmName       = "kube-controller-manager"
	schedulerName = "kube-scheduler"
	kwokName      = "kwok"
)

var components = []string{etcdName, apiserverName, kcmName, schedulerName, kwokName}

// Ports are the loopback ports of the plane; zero picks a free one.
type Ports struct {
	Etcd      int
	EtcdPeer  int
	APIServer int
	Kwok      int
}

// Config describes a plane to start.
type Config struct {
	// BinDir holds the binaries built by hack/controlplane/build.sh.
	BinDir string
	// Dir holds the plane's state: certificates, kubeconfigs, etcd data,
	// logs and pid files.
	Dir   string
	Ports Ports
	// Detach starts processes that outlive the caller (make cluster-up).
	Detach bool
	// Nodes to register; DefaultNodes when empty.
	Nodes []Node
	// Progress receives one line per step; nil discards them.
	Progress io.Writer
}

// Cluster is a running plane.
type Cluster struct {
	Dir        string
	Kubeconfig string
	Config     *rest.Config
	Client     kubernetes.Interface
	Ports      Ports
	procs      []*process
}

// AdminKubeconfig is the admin kubeconfig's file name inside Dir.
const AdminKubeconfig = "admin.kubeconfig"

// Start brings up a plane and returns once a node is Ready, the default
// ServiceAccount exists and the API answers. On failure everything started
// is stopped again and the error quotes the failing component's log.
func Start(ctx context.Context, cfg Config) (*Cluster, error) {
	if cfg.Progress == nil {
		cfg.Progress = io.Discard
	}
	if len(cfg.Nodes) == 0 {
		cfg.Nodes = DefaultNodes()
	}
	ports, err := pickPorts(cfg.Ports)
	if err != nil {
		return nil, err
	}
	cfg.Ports = ports
	c := &Cluster{Dir: cfg.Dir, Kubeconfig: filepath.Join(cfg.Dir, AdminKubeconfig), Ports: ports}
	if err := c.start(ctx, cfg); err != nil {
		c.Stop()
		return nil, err
	}
	return c, nil
}

func (c *Cluster) start(ctx context.Context, cfg Config) error {
	steps := []struct {
		what string
		run  func(context.Context, Config) error
	}{
		{"prepare state", c.prepare},
		{"start etcd", c.startEtcd},
		{"start kube-apiserver", c.startAPIServer},
		{"start controllers and scheduler", c.startControllers},
		{"start kwok", c.startKwok},
		{"register nodes", c.registerNodes},
		{"wait for a ready cluster", c.waitReady},
	}
	for _, s := range steps {
		start := time.Now()
		if err := s.run(ctx, cfg); err != nil {
			return fmt.Errorf("%s: %w", s.what, err)
		}
		fmt.Fprintf(cfg.Progress, "cluster: %s (%s)\n", s.what, time.Since(start).Round(time.Millisecond))
	}
	return nil
}

func (c *Cluster) prepare(_ context.Context, cfg Config) error {
	for _, sub := range []string{"pki", "logs", "pids", "etcd", "sim-logs"} {
		if err := os.MkdirAll(filepath.Join(cfg.Dir, sub), 0o700); err != nil {
			return fmt.Errorf("create %s: %w", sub, err)
		}
	}
	for _, name := range components {
		if _, err := os.Stat(filepath.Join(cfg.BinDir, name)); err != nil {
			return fmt.Errorf("binary %s missing in %s (run hack/controlplane/build.sh): %w", name, cfg.BinDir, err)
		}
	}
	if err := writePKI(cfg.Dir, cfg.Ports.APIServer); err != nil {
		return err
	}
	return writeKwokConfig(cfg.Dir)
}

func (c *Cluster) run(cfg Config, name string, args ...string) error {
	p, err := startProcess(cfg.Dir, cfg.BinDir, name, cfg.Detach, args...)
	if err != nil {
		return err
	}
	c.procs = append(c.procs, p)
	return nil
}

func (c *Cluster) startEtcd(ctx context.Context, cfg Config) error {
	client := fmt.Sprintf("http://127.0.0.1:%d", cfg.Ports.Etcd)
	peer := fmt.Sprintf("http://127.0.0.1:%d", cfg.Ports.EtcdPeer)
	err := c.run(cfg, etcdName,
		"--name=local", "--data-dir="+filepath.Join(cfg.Dir, "etcd"),
		"--listen-client-urls="+client, "--advertise-client-urls="+client,
		"--listen-peer-urls="+peer, "--initial-advertise-peer-urls="+peer,
		"--initial-cluster=local="+peer,
		// A test plane is thrown away; fsync only slows it down.
		"--unsafe-no-fsync", "--log-level=warn",
	)
	if err != nil {
		return err
	}
	return c.waitFor(ctx, cfg, etcdName, 30*time.Second, func(ctx context.Context) error {
		return httpOK(ctx, http.DefaultClient, client+"/health")
	})
}

func (c *Cluster) startAPIServer(ctx context.Context, cfg Config) error {
	pki := func(f string) string { return filepath.Join(cfg.Dir, "pki", f) }
	err := c.run(cfg, apiserverName,
		fmt.Sprintf("--etcd-servers=http://127.0.0.1:%d", cfg.Ports.Etcd),
		"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1",
		fmt.Sprintf("--secure-port=%d", cfg.Ports.APIServer),
		// On loopback the default reconciler cannot publish an endpoint and exits.
		"--endpoint-reconciler-type=none",
		"--tls-cert-file="+pki("apiserver.crt"), "--tls-private-key-file="+pki("apiserver.key"),
		"--client-ca-file="+pki("ca.crt"),
		"--authorization-mode=Node,RBAC",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file="+pki("sa.pub"),
		"--service-account-signing-key-file="+pki("sa.key"),
		"--service-cluster-ip-range=10.96.0.0/16",
		"--kubelet-client-certificate="+pki("apiserver-kubelet-client.crt"),
		"--kubelet-client-key="+pki("apiserver-kubelet-client.key"),
		// kwok's nodes answer on 127.0.0.1; their host names do not resolve.
		"--kubelet-preferred-address-types=InternalIP",
		"--allow-privileged=true", "--profiling=false", "--event-ttl=1h",
	)
	if err != nil {
		return err
	}
	if err := c.loadAdmin(); err != nil {
		return err
	}
	return c.waitFor(ctx, cfg, apiserverName, 90*time.Second, func(ctx context.Context) error {
		body, err := c.Client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		if err != nil {
			return fmt.Errorf("readyz: %w (%s)", err, body)
		}
		return nil
	})
}

func (c *Cluster) loadAdmin() error {
	rc, err := clientcmd.BuildConfigFromFlags("", c.Kubeconfig)
	if err != nil {
		return fmt.Errorf("load admin kubeconfig: %w", err)
	}
	// Tests create many objects quickly; the client default of 5 QPS would
	// make them measure the client's throttle instead of the server.
	rc.QPS, rc.Burst = 200, 400
	client, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return fmt.Errorf("admin client: %w", err)
	}
	c.Config, c.Client = rc, client
	return nil
}

func (c *Cluster) startControllers(_ context.Context, cfg Config) error {
	pki := func(f string) string { return filepath.Join(cfg.Dir, "pki", f) }
	err := c.run(cfg, kcmName,
		"--kubeconfig="+filepath.Join(cfg.Dir, "controller-manager.kubeconfig"),
		"--bind-address=127.0.0.1", "--secure-port=0", "--leader-elect=false",
		"--use-service-account-credentials=true",
		"--service-account-private-key-file="+pki("sa.key"),
		"--root-ca-file="+pki("ca.crt"),
		"--cluster-signing-cert-file="+pki("ca.crt"), "--cluster-signing-key-file="+pki("ca.key"),
		"--profiling=false",
	)
	if err != nil {
		return err
	}
	return c.run(cfg, schedulerName,
		"--kubeconfig="+filepath.Join(cfg.Dir, "scheduler.kubeconfig"),
		"--bind-address=127.0.0.1", "--secure-port=0", "--leader-elect=false",
		"--profiling=false",
	)
}

func (c *Cluster) startKwok(_ context.Context, cfg Config) error {
	return c.run(cfg, kwokName,
		"--kubeconfig="+filepath.Join(cfg.Dir, "kwok.kubeconfig"),
		"--config="+filepath.Join(cfg.Dir, "kwok.yaml"),
		"--manage-all-nodes=false",
		"--manage-nodes-with-annotation-selector="+NodeAnnotation+"=fake",
		"--node-ip=127.0.0.1",
		fmt.Sprintf("--node-port=%d", cfg.Ports.Kwok),
		fmt.Sprintf("--server-address=127.0.0.1:%d", cfg.Ports.Kwok),
		"--cidr=10.244.0.0/16",
		// Without leases the node lifecycle controller marks every node
		// NotReady after its grace period, and with it their pods.
		"--node-lease-duration-seconds=40",
	)
}

// waitFor polls check until it passes, the component dies, or timeout.
func (c *Cluster) waitFor(ctx context.Context, cfg Config, name string, timeout time.Duration, check func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for {
		cctx, ccancel := context.WithTimeout(ctx, 2*time.Second)
		last = check(cctx)
		ccancel()
		if last == nil {
			return nil
		}
		if !alive(readPid(cfg.Dir, name)) {
			return fmt.Errorf("%s exited; its log ends with:\n%s", name, logTail(cfg.Dir, name, 20))
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not ready after %s: %w; its log ends with:\n%s", name, timeout, last, logTail(cfg.Dir, name, 20))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func httpOK(ctx context.Context, client *http.Client, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return nil
}

// Stop stops every process of this plane, newest first. The state directory
// stays; Remove deletes it.
func (c *Cluster) Stop() {
	for i := len(c.procs) - 1; i >= 0; i-- {
		p := c.procs[i]
		_ = stopPid(p.cmd.Process.Pid, 5*time.Second)
		p.log.Close()
	}
	c.procs = nil
}

// StopDir stops the processes recorded in dir's pid files (a plane started
// detached, perhaps by another process) and removes dir.
func StopDir(dir string) error {
	var errs []error
	for i := len(components) - 1; i >= 0; i-- {
		if pid := readPid(dir, components[i]); pid != 0 {
			if err := stopPid(pid, 10*time.Second); err != nil {
				errs = append(errs, fmt.Errorf("stop %s: %w", components[i], err))
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("remove %s: %w", dir, err)
	}
	return nil
}

// Running reports whether every process recorded in dir is alive.
func Running(dir string) bool {
	for _, name := range components {
		if !alive(readPid(dir, name)) {
			return false
		}
	}
	return true
}

// AnyRunning reports whether any process recorded in dir is alive.
func AnyRunning(dir string) bool {
	for _, name := range components {
		if alive(readPid(dir, name)) {
			return true
		}
	}
	return false
}

// pickPorts fills zero ports with free loopback ports.
func pickPorts(p Ports) (Ports, error) {
	for _, port := range []*int{&p.Etcd, &p.EtcdPeer, &p.APIServer, &p.Kwok} {
		if *port != 0 {
			continue
		}
		free, err := freePort()
		if err != nil {
			return p, err
		}
		*port = free
	}
	return p, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	_, port, err := net.SplitHostPort(l.Addr().String())
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(port)
}

// Attach returns a client for a plane started earlier in dir (by
// `make cluster-up`); Stop on it stops nothing.
func Attach(dir string) (*Cluster, error) {
	c := &Cluster{Dir: dir, Kubeconfig: filepath.Join(dir, AdminKubeconfig)}
	if err := c.loadAdmin(); err != nil {
		return nil, err
	}
	return c, nil
}

// RestartAPIServer stops the kube-apiserver by its pid and starts it again
// with the same arguments, returning once it answers /readyz: a control-plane
// outage for the trials of an operator riding it out.
//
// kube-controller-manager and kwok are restarted with it, once the new API
// server is ready, as a control-plane node's restart would. Left running
// through the outage, kube-controller-manager 1.37 sometimes never retries,
// for minutes, a ReplicaSet whose pod creation failed in it (connection
// refused, or "pods is forbidden" while the new server's authorizer fills
// its caches), and kwok backs off for as long from pod updates that failed
// in it: stalls of the plane itself, which is not what the caller wants to
// observe. The scheduler keeps running.
func (c *Cluster) RestartAPIServer(ctx context.Context) (err error) {
	api, err := c.stop(apiserverName)
	if err != nil {
		return fmt.Errorf("restart %s: %w", apiserverName, err)
	}
	// The controllers come back whatever becomes of the API server.
	for _, name := range []string{kcmName, kwokName} {
		p, stopErr := c.stop(name)
		if stopErr != nil {
			return fmt.Errorf("restart %s: %w", apiserverName, stopErr)
		}
		defer func() {
			if startErr := c.startAgain(p); startErr != nil && err == nil {
				err = fmt.Errorf("restart %s: %w", name, startErr)
			}
		}()
	}
	if err := c.startAgain(api); err != nil {
		return fmt.Errorf("restart %s: %w", apiserverName, err)
	}
	return c.waitFor(ctx, Config{Dir: c.Dir}, apiserverName, 90*time.Second, func(ctx context.Context) error {
		_, err := c.Client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		return err
	})
}

// stop stops the process named name that this Cluster started and returns
// it, for startAgain.
func (c *Cluster) stop(name string) (*process, error) {
	i := slices.IndexFunc(c.procs, func(p *process) bool { return p.name == name })
	if i < 0 {
		return nil, fmt.Errorf("%s: not started by this process", name)
	}
	old := c.procs[i]
	if err := stopPid(old.cmd.Process.Pid, 5*time.Second); err != nil {
		return nil, fmt.Errorf("stop %s: %w", name, err)
	}
	if !old.cmd.SysProcAttr.Setsid {
		_ = old.cmd.Wait() // reap it; a detached one is reaped by its own goroutine
	}
	old.log.Close()
	return old, nil
}

// startAgain starts a process stopped by stop with the same arguments, in
// its place.
func (c *Cluster) startAgain(old *process) error {
	p, err := startProcess(c.Dir, filepath.Dir(old.cmd.Path), old.name, old.cmd.SysProcAttr.Setsid, old.cmd.Args[1:]...)
	if err != nil {
		return err
	}
	c.procs[slices.Index(c.procs, old)] = p
	return nil
}
