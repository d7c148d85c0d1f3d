package testbin

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestEnvopNamedByEnv(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "envop")
	if err := os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	plain := filepath.Join(dir, "plain")
	if err := os.WriteFile(plain, []byte("data"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv(Env, exe)
	if got, err := Envop(t.TempDir()); err != nil || got != exe {
		t.Errorf("Envop with %s=%s = %q, %v; want the given binary", Env, exe, got, err)
	}
	for name, bin := range map[string]string{
		"relative":       "bin/envop",
		"missing":        filepath.Join(dir, "missing"),
		"not executable": plain,
		"directory":      dir,
	} {
		t.Setenv(Env, bin)
		if got, err := Envop(t.TempDir()); err == nil || !strings.Contains(err.Error(), Env) {
			t.Errorf("%s: Envop with %s=%s = %q, %v; want an error naming %s", name, Env, bin, got, err, Env)
		}
	}
}

// TestBuild: what Envop does without the variable, on a small main
// package (building envop itself would cost every make test a build).
func TestBuild(t *testing.T) {
	dir := t.TempDir()
	bin, err := build(dir, "hello", "./testdata/hello")
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(bin) != dir {
		t.Errorf("built %s, want it in %s", bin, dir)
	}
	out, err := exec.Command(bin).CombinedOutput()
	if err != nil || string(out) != "hello\n" {
		t.Fatalf("%s: %q, %v; want hello", bin, out, err)
	}
	if _, err := build(dir, "missing", "./testdata/missing"); err == nil || !strings.Contains(err.Error(), "testdata/missing") {
		t.Errorf("build of a missing package: %v, want an error naming it", err)
	}
}
