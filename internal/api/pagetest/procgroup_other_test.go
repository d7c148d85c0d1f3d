//go:build !unix

package pagetest

import "os/exec"

func ownProcessGroup(*exec.Cmd)  {}
func killProcessGroup(*exec.Cmd) {}
