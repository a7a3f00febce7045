//go:build !linux

package local

import "syscall"

// groupAlive reports whether process group pgid still has a member.
// Without /proc, exited but unreaped members (zombies) count as alive, so an
// interrupted run may wait out the whole grace period.
func groupAlive(pgid int) bool {
	return syscall.Kill(-pgid, 0) != syscall.ESRCH
}
