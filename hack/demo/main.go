// Command demo is `make demo`: a local cluster, a namespace with a
// least-privilege ServiceAccount, a git repository holding the sample
// environments.bitesize, and the operator serving it on 127.0.0.1:8080.
// Ctrl-C stops everything it started.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/envop/envop/internal/localcluster"
)

const (
	namespace   = "demo"
	environment = "demo"
	listen      = "127.0.0.1:8080"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	bin := flag.String("bin", "", "directory of the control-plane binaries")
	envop := flag.String("envop", "bin/envop", "the envop binary")
	dir := flag.String("dir", ".cluster", "state directory of the local cluster")
	sample := flag.String("sample", "examples/environments.bitesize", "the sample environment file")
	flag.Parse()
	abs, err := filepath.Abs(*dir)
	if err != nil {
		return err
	}
	c, started, err := cluster(ctx, abs, *bin)
	if err != nil {
		return err
	}
	if started {
		defer func() {
			fmt.Println("demo: stopping the cluster")
			c.Stop()
			_ = os.RemoveAll(abs)
		}()
	}
	work := filepath.Join(abs, "demo")
	d, err := prepare(ctx, c, work, *sample)
	if err != nil {
		return err
	}
	return operate(ctx, d, *envop)
}

// cluster reuses a running `make cluster-up` cluster, else starts one that
// lives as long as the demo.
func cluster(ctx context.Context, dir, bin string) (*localcluster.Cluster, bool, error) {
	if localcluster.Running(dir) {
		fmt.Println("demo: using the running local cluster (make cluster-down stops it)")
		c, err := localcluster.Attach(dir)
		return c, false, err
	}
	if localcluster.AnyRunning(dir) {
		return nil, false, fmt.Errorf("a partly running cluster is recorded in %s: run make cluster-down", dir)
	}
	if bin == "" {
		return nil, false, fmt.Errorf("--bin is required to start a cluster")
	}
	_ = os.RemoveAll(dir)
	fmt.Println("demo: starting a local cluster (etcd, kube-apiserver, controller-manager, scheduler, kwok)")
	c, err := localcluster.Start(ctx, localcluster.Config{
		BinDir: bin, Dir: dir, Progress: os.Stdout,
		Ports: localcluster.Ports{Etcd: 32379, EtcdPeer: 32380, APIServer: 36443, Kwok: 30250},
	})
	return c, err == nil, err
}
