//go:build windows

package store

import "os"

// PIDAlive reports whether a process with this pid exists on this machine.
func PIDAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	_ = p.Release()
	return true
}

// ThisPIDSpace is "" here: without a way to tell this machine's boot and
// pid namespace, a holder on the same hostname is judged by its
// heartbeat.
func ThisPIDSpace() string { return "" }
