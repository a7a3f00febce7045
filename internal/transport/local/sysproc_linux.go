package local

import (
	"os"
	"os/exec"
	"os/signal"
	"syscall"
)

// guard runs a step's script as a child of a small shell that leads the
// step's process group. If golive itself dies (kill -9 of the controller),
// the kernel sends the guard SIGHUP (Pdeathsig) and the guard terminates
// the whole group: TERM, then KILL after 5 s. A step must not go on
// changing a target that the journal says was interrupted, and neither may
// anything it started. Normal cancellation does not involve the guard:
// the transport signals the group itself.
//
// The script and its environment reach the shell that runs them on the
// guard's standard input (`sh -s` reads the payload, see
// transport.Command.Payload), never as arguments: `ps` shows only this
// fixed text.
const guard = `trap 'trap "" HUP TERM; kill -TERM 0 2>/dev/null; sleep 5; kill -KILL 0 2>/dev/null' HUP
exec 3<&0 0</dev/null
/bin/sh -s <&3 3<&- &
exec 3<&-
wait $!`

// command returns the command that runs the payload's script in its own
// process group; the caller gives it the payload as standard input.
func command() *exec.Cmd {
	hupReachesGuard()
	c := exec.Command("/bin/sh", "-c", guard, "golive-step")
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGHUP}
	return c
}

// hupReachesGuard makes sure the guard can trap SIGHUP. A signal ignored
// when a program starts stays ignored in what it execs, and a shell cannot
// trap a signal ignored on entry: under `nohup golive run ...` (golive
// leaves SIGHUP ignored for itself, see internal/cli/signals.go) the
// guard's trap would silently do nothing and a kill -9 of golive would
// leave its steps running. So while SIGHUP is ignored, golive catches it
// instead and drops it: golive still does not stop on a hangup, and a
// caught signal is reset to its default in every program golive starts.
func hupReachesGuard() {
	if signal.Ignored(syscall.SIGHUP) {
		signal.Notify(make(chan os.Signal, 1), syscall.SIGHUP)
	}
}
