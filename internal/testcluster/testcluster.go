package testcluster

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/envop/envop/internal/localcluster"
)

// BinDirEnv names the directory of the control-plane binaries; when unset
// the directory is asked of hack/controlplane/build.sh.
const BinDirEnv = "ENVOP_CONTROLPLANE_BIN"

var current *localcluster.Cluster

// Main starts a control plane, runs the package's tests and stops it. Use it
// as `func TestMain(m *testing.M) { os.Exit(testcluster.Main(m)) }`.
func Main(m *testing.M) int {
	if !flag.Parsed() {
		flag.Parse() // testing.Verbose needs the flags; m.Run parses them anyway.
	}
	dir, err := os.MkdirTemp("", "envop-testcluster-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "testcluster:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	c, err := start(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testcluster: cannot start the control plane:", err)
		return 1
	}
	current = c
	defer c.Stop()
	return m.Run()
}

// SharedEnv names the state directory of a plane `make test` started for
// every package that calls SharedMain (hack/localcluster up). When it is
// unset, SharedMain starts the package's own plane, as Main does.
const SharedEnv = "ENVOP_TEST_CLUSTER"

// SharedMain is Main for a package that may share its plane with other
// packages running at the same time: its tests only create namespaced
// objects in namespaces of their own (Namespace), never restart the plane,
// install CRDs or name a cluster-wide object. It runs the tests on the
// plane SharedEnv names, or on a plane of its own when SharedEnv is unset.
func SharedMain(m *testing.M) int {
	dir := os.Getenv(SharedEnv)
	if dir == "" {
		return Main(m)
	}
	c, err := attach(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testcluster: cannot use the shared control plane:", err)
		return 1
	}
	current = c
	return m.Run()
}

// attach returns the running plane recorded in dir.
func attach(dir string) (*localcluster.Cluster, error) {
	if !filepath.IsAbs(dir) {
		return nil, fmt.Errorf("%s=%s: want an absolute path", SharedEnv, dir)
	}
	if !localcluster.Running(dir) {
		return nil, fmt.Errorf("%s=%s: no running plane recorded there", SharedEnv, dir)
	}
	c, err := localcluster.Attach(dir)
	if err != nil {
		return nil, fmt.Errorf("%s=%s: %w", SharedEnv, dir, err)
	}
	return c, nil
}

func start(dir string) (*localcluster.Cluster, error) {
	bin, err := BinDir()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cfg := localcluster.Config{BinDir: bin, Dir: dir}
	if testing.Verbose() {
		cfg.Progress = os.Stderr
	}
	c, err := localcluster.Start(ctx, cfg)
	if err != nil {
		// A free port picked for one component can be taken by the time it
		// binds; one more try with fresh ports settles that race.
		_ = os.RemoveAll(dir)
		c, err = localcluster.Start(ctx, cfg)
	}
	return c, err
}

// BinDir finds the control-plane binaries and fails loudly without them.
func BinDir() (string, error) {
	dir := os.Getenv(BinDirEnv)
	if dir == "" {
		root, err := repoRoot()
		if err != nil {
			return "", err
		}
		out, err := exec.Command("bash", filepath.Join(root, "hack/controlplane/build.sh"), "--print-dir").Output()
		if err != nil {
			return "", fmt.Errorf("ask hack/controlplane/build.sh for the binaries: %w", err)
		}
		dir = strings.TrimSpace(string(out))
	}
	if _, err := os.Stat(filepath.Join(dir, "kube-apiserver")); err != nil {
		return "", fmt.Errorf("control-plane binaries missing in %s: run `make controlplane` (make test does it): %w", dir, err)
	}
	return dir, nil
}

// repoRoot walks up from the working directory to the product's go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "hack/controlplane/build.sh")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no hack/controlplane/build.sh above the working directory; set %s", BinDirEnv)
		}
		dir = parent
	}
}

// Get returns the package's control plane; it fails the test when TestMain
// did not start one.
func Get(t testing.TB) *localcluster.Cluster {
	t.Helper()
	if current == nil {
		t.Fatal("no control plane: call testcluster.Main from TestMain")
	}
	return current
}
