//go:build !linux

package local

import (
	"os/exec"
	"syscall"
)

// command returns the command that runs script in its own process group.
func command(script string) *exec.Cmd {
	c := exec.Command("/bin/sh", "-c", script)
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return c
}
