//go:build unix && !linux

package store

import (
	"errors"
	"syscall"
)

// PIDAlive reports whether a process with this pid exists on this machine.
// Without /proc, a zombie cannot be told from a live process and counts as
// alive.
func PIDAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// ThisPIDSpace is "" here: without a way to tell this machine's boot and
// pid namespace, a holder on the same hostname is judged by its
// heartbeat.
func ThisPIDSpace() string { return "" }
