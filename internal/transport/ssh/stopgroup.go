package ssh

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/golive-dev/golive/internal/transport"
)

// reportStarted calls started (when set) with the script's process group
// once the wrapper's marker has arrived; the returned wait blocks until
// that is done, so that started never runs after Run returned. Every path
// out of run finishes the session, which ends stderr and so closes
// s.marked.
func reportStarted(s *session, tag string, started func(transport.RemoteProc)) (wait func()) {
	return reportMarked(s.marked, func() marker { return s.mark }, tag, started)
}

// reportMarked is reportStarted for any marker source: mark is read once
// marked is closed (a pipelined session's markWriter).
func reportMarked(marked <-chan struct{}, mark func() marker, tag string, started func(transport.RemoteProc)) (wait func()) {
	if started == nil {
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		<-marked
		if m := mark(); m.found && !m.nodir && m.pgid > 1 {
			started(transport.RemoteProc{PID: m.pid, PGID: m.pgid, Tag: tag})
		}
	}()
	return func() { <-done }
}

// Exit codes of the stop script.
const (
	stopNotFound = 3 // no process of the group carries the tag
	stopNoProc   = 4 // no /proc: the tag cannot be checked, nothing signalled
)

// StopGroup stops a process group an earlier controller started on this
// host (transport.GroupStopper), after checking in /proc that a member of
// the group still carries p's tag in its environment: a recycled process
// group id is left alone.
func (c *conn) StopGroup(ctx context.Context, p transport.RemoteProc) (bool, error) {
	if p.PGID <= 1 || p.Tag == "" {
		return false, fmt.Errorf("ssh %s: no process group to stop", c.name)
	}
	if err := c.check(ctx); err != nil {
		return false, fmt.Errorf("ssh %s: stop process group %d: %w", c.name, p.PGID, err)
	}
	kill, ok := c.killScript(marker{found: true, pid: p.PGID, pgid: p.PGID})
	if !ok {
		return false, nil
	}
	// No process in the group at all (kill -0 counts zombies too): nothing
	// carries the tag, and /proc need not be read.
	script := fmt.Sprintf(`[ -r /proc/self/environ ] || exit %[3]d
kill -s 0 -- -%[1]d 2>/dev/null || exit %[4]d
found=
for s in /proc/[0-9]*/stat; do
  read -r l 2>/dev/null <"$s" || continue
  l=${l##*) }; set -- $l
  [ "$3" = %[1]d ] || continue
  if tr '\0' '\n' <"${s%%/stat}/environ" 2>/dev/null | grep -qx 'GOLIVE_PROC_TAG=%[2]s'; then found=1; break; fi
done
[ -n "$found" ] || exit %[4]d
`, p.PGID, p.Tag, stopNoProc, stopNotFound) + kill
	ctx, cancel := context.WithTimeout(ctx, c.grace+10*time.Second)
	defer cancel()
	s, err := c.start("exec /bin/sh -c "+quote(script), nil, nil, "")
	if err != nil {
		return false, fmt.Errorf("ssh %s: stop process group %d: %w", c.name, p.PGID, err)
	}
	select {
	case <-s.exited:
	case <-ctx.Done():
	}
	c.finish(s)
	if err := transport.ContextError(ctx); err != nil {
		return false, fmt.Errorf("ssh %s: stop process group %d: %w", c.name, p.PGID, err)
	}
	switch {
	case !s.status.ok:
		return false, fmt.Errorf("ssh %s: stop process group %d: %w", c.name, p.PGID, c.connErr(errNoStatus))
	case s.status.code == stopNotFound:
		return false, nil
	case s.status.code == stopNoProc:
		return false, fmt.Errorf("ssh %s: cannot tell whether process group %d is still golive's (no /proc): not stopped", c.name, p.PGID)
	case s.status.code != 0:
		return false, fmt.Errorf("ssh %s: stop process group %d: exit %s", c.name, p.PGID, strconv.Itoa(s.status.code))
	}
	return true, nil
}
