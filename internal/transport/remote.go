package transport

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
)

// RemoteProc is a script's process group on a target: its pid and
// process group id there, and the random tag the script's environment
// carries (GOLIVE_PROC_TAG), by which a later controller recognises the
// group before it signals anything: process ids are reused.
type RemoteProc struct {
	PID, PGID int
	Tag       string
}

// String is the form journaled and read back by ParseRemoteProc.
func (p RemoteProc) String() string {
	return fmt.Sprintf("remote process group %d (pid %d, tag %s)", p.PGID, p.PID, p.Tag)
}

var remoteProcRe = regexp.MustCompile(`remote process group (\d+) \(pid (\d+), tag (golive-[0-9a-f]+)\)`)

// ParseRemoteProc reads what RemoteProc.String wrote.
func ParseRemoteProc(s string) (RemoteProc, bool) {
	m := remoteProcRe.FindStringSubmatch(s)
	if m == nil {
		return RemoteProc{}, false
	}
	pgid, _ := strconv.Atoi(m[1])
	pid, _ := strconv.Atoi(m[2])
	return RemoteProc{PID: pid, PGID: pgid, Tag: m[3]}, true
}

// GroupStopper is a Conn that can stop a process group an earlier
// connection (or an earlier controller) started, once it has made sure
// the group still holds a process with p's tag: TERM, then KILL after the
// transport's grace period. found is false when no such process is left
// (nothing was signalled).
type GroupStopper interface {
	StopGroup(ctx context.Context, p RemoteProc) (found bool, err error)
}
