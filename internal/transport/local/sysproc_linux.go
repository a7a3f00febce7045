package local

import "syscall"

// sysProcAttr puts the script in its own process group, and kills the
// shell if golive itself dies (kill -9 of the controller): a step must not
// go on changing a target that the journal says was interrupted.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
