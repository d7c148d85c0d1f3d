package testbin

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// Env names the envop binary tests run instead of building their own.
// `make test` sets it to the bin/envop it built.
const Env = "ENVOP_BIN"

// pkg is the main package built when Env is unset.
const pkg = "github.com/envop/envop/cmd/envop"

// Envop returns the path of the envop binary: the file Env names, or,
// when Env is unset, a binary built into dir.
func Envop(dir string) (string, error) {
	if bin := os.Getenv(Env); bin != "" {
		return given(bin)
	}
	return build(dir, "envop", pkg)
}

// build builds the main package pkg into dir/name.
func build(dir, name, pkg string) (string, error) {
	bin := filepath.Join(dir, name)
	out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("build %s: %w\n%s", pkg, err, out)
	}
	return bin, nil
}

// given checks the binary Env names: an absolute path (go test runs each
// package in its own directory) to an executable file.
func given(bin string) (string, error) {
	if !filepath.IsAbs(bin) {
		return "", fmt.Errorf("%s=%s: want an absolute path", Env, bin)
	}
	fi, err := os.Stat(bin)
	if err != nil {
		return "", fmt.Errorf("%s: %w", Env, err)
	}
	if !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
		return "", fmt.Errorf("%s=%s: not an executable file", Env, bin)
	}
	return bin, nil
}
