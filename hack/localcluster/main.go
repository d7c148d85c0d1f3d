// Command localcluster starts and stops the local control plane behind
// `make cluster-up` and `make cluster-down`.
//
//	localcluster up   --bin DIR [--dir .cluster] [--free-ports]
//	localcluster down [--dir .cluster]
//
// Ports default to fixed loopback ports so that a kubeconfig stays valid
// across restarts; ENVOP_ETCD_PORT, ENVOP_ETCD_PEER_PORT,
// ENVOP_APISERVER_PORT and ENVOP_KWOK_PORT override them. --free-ports
// picks free ones instead, for a plane nobody reconnects to: the one
// `make test` shares between test packages.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/envop/envop/internal/localcluster"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:])
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "localcluster:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return errors.New("usage: localcluster up|down [flags]")
	}
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	dir := fs.String("dir", ".cluster", "state directory")
	bin := fs.String("bin", "", "directory of the control-plane binaries (hack/controlplane/build.sh prints it)")
	free := fs.Bool("free-ports", false, "pick free loopback ports instead of the fixed ones")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	abs, err := filepath.Abs(*dir)
	if err != nil {
		return err
	}
	switch args[0] {
	case "up":
		return up(ctx, abs, *bin, *free)
	case "down":
		return down(abs)
	default:
		return fmt.Errorf("unknown command %q (want up or down)", args[0])
	}
}

func up(ctx context.Context, dir, bin string, free bool) error {
	kubeconfig := filepath.Join(dir, localcluster.AdminKubeconfig)
	if localcluster.Running(dir) {
		fmt.Printf("cluster already running; nothing changed\nkubeconfig: %s\n", kubeconfig)
		return nil
	}
	if localcluster.AnyRunning(dir) {
		return fmt.Errorf("a partly running cluster is recorded in %s; run `make cluster-down` first", dir)
	}
	if bin == "" {
		return errors.New("--bin is required")
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("clear stale state: %w", err)
	}
	// Zero ports are picked free by localcluster.Start.
	var ports localcluster.Ports
	if !free {
		var err error
		if ports, err = portsFromEnv(); err != nil {
			return err
		}
	}
	cfg := localcluster.Config{BinDir: bin, Dir: dir, Ports: ports, Detach: true, Progress: os.Stdout}
	c, err := localcluster.Start(ctx, cfg)
	if err != nil && free {
		// A free port can be taken by the time its component binds; one
		// more try with fresh ports settles that race.
		_ = localcluster.StopDir(dir)
		c, err = localcluster.Start(ctx, cfg)
	}
	if err != nil {
		_ = localcluster.StopDir(dir)
		return err
	}
	fmt.Printf("cluster running: https://127.0.0.1:%d\nkubeconfig: %s\nlogs: %s\n",
		c.Ports.APIServer, c.Kubeconfig, filepath.Join(dir, "logs"))
	return nil
}

func down(dir string) error {
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		fmt.Println("no cluster state; nothing to stop")
		return nil
	}
	if err := localcluster.StopDir(dir); err != nil {
		return err
	}
	fmt.Println("cluster stopped; state removed")
	return nil
}

func portsFromEnv() (localcluster.Ports, error) {
	p := localcluster.Ports{Etcd: 32379, EtcdPeer: 32380, APIServer: 36443, Kwok: 30250}
	for env, port := range map[string]*int{
		"ENVOP_ETCD_PORT":      &p.Etcd,
		"ENVOP_ETCD_PEER_PORT": &p.EtcdPeer,
		"ENVOP_APISERVER_PORT": &p.APIServer,
		"ENVOP_KWOK_PORT":      &p.Kwok,
	} {
		v := os.Getenv(env)
		if v == "" {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 65535 {
			return p, fmt.Errorf("%s=%q is not a port", env, v)
		}
		*port = n
	}
	return p, nil
}
