//go:build !linux

package local

import (
	"os/exec"
	"syscall"
)

// command returns the command that runs the payload's script (given as
// standard input) in its own process group.
func command() *exec.Cmd {
	c := exec.Command("/bin/sh", "-s")
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return c
}
