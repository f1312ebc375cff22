//go:build !unix

package demo

import "os/exec"

func setProcAttr(*exec.Cmd) {}

// terminate: without process groups or SIGTERM, the child is killed.
func terminate(cmd *exec.Cmd) { _ = cmd.Process.Kill() }

func kill(cmd *exec.Cmd) { _ = cmd.Process.Kill() }
