package main

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/envop/envop/internal/testcluster"
)

// TestUpTwiceThenDown drives the commands behind make cluster-up and
// cluster-down: a second up changes nothing, down leaves no process and no
// state behind.
func TestUpTwiceThenDown(t *testing.T) {
	bin, err := testcluster.BinDir()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "cluster")
	// Free ports, so the test never meets a developer's running cluster.
	for _, env := range []string{"ENVOP_ETCD_PORT", "ENVOP_ETCD_PEER_PORT", "ENVOP_APISERVER_PORT", "ENVOP_KWOK_PORT"} {
		t.Setenv(env, strconv.Itoa(freePort(t)))
	}
	t.Cleanup(func() { _ = run(t.Context(), []string{"down", "--dir", dir}) })

	if err := run(t.Context(), []string{"up", "--dir", dir, "--bin", bin}); err != nil {
		t.Fatalf("first up: %v", err)
	}
	pids := readPids(t, dir)
	if len(pids) != 5 {
		t.Fatalf("pid files = %v, want 5 components", pids)
	}
	kubeconfig, err := os.ReadFile(filepath.Join(dir, "admin.kubeconfig"))
	if err != nil {
		t.Fatal(err)
	}
	if err := run(t.Context(), []string{"up", "--dir", dir, "--bin", bin}); err != nil {
		t.Fatalf("second up: %v", err)
	}
	again, _ := os.ReadFile(filepath.Join(dir, "admin.kubeconfig"))
	if string(again) != string(kubeconfig) {
		t.Error("second up rewrote the kubeconfig")
	}
	for name, pid := range readPids(t, dir) {
		if pids[name] != pid {
			t.Errorf("%s restarted by the second up: pid %d, was %d", name, pid, pids[name])
		}
	}
	if err := run(t.Context(), []string{"down", "--dir", dir}); err != nil {
		t.Fatalf("down: %v", err)
	}
	for name, pid := range pids {
		if isRunning(pid) {
			t.Errorf("%s (pid %d) still running after down", name, pid)
		}
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("state directory left behind: %v", err)
	}
}

func readPids(t *testing.T, dir string) map[string]int {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(dir, "pids"))
	if err != nil {
		t.Fatal(err)
	}
	pids := map[string]int{}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, "pids", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
		if err != nil {
			t.Fatal(err)
		}
		pids[strings.TrimSuffix(e.Name(), ".pid")] = pid
	}
	return pids
}

// isRunning reports a live process; a zombie waiting for init is not one.
func isRunning(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	i := strings.LastIndexByte(string(stat), ')')
	return i < 0 || i+2 >= len(stat) || stat[i+2] != 'Z'
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
