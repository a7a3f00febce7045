package ssh

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/golive-dev/golive/internal/transport"
)

// Run runs cmd.Script with /bin/sh -c on the host, in its own process
// group, and waits for it. See the package documentation.
func (c *conn) Run(ctx context.Context, cmd transport.Command) (transport.Result, error) {
	res, err := c.run(ctx, cmd)
	if err != nil {
		return res, fmt.Errorf("ssh %s: run: %w", c.name, err)
	}
	return res, nil
}

func (c *conn) run(ctx context.Context, cmd transport.Command) (transport.Result, error) {
	res := transport.Result{ExitCode: -1}
	if err := c.check(ctx); err != nil {
		return res, err
	}
	if err := cmd.Validate(); err != nil {
		return res, err
	}
	release, err := c.acquire(ctx)
	if err != nil {
		return res, err
	}
	defer release()
	stdout, stderr := transport.Outputs(cmd.Stdout, cmd.Stderr)
	tag := "golive-" + nonce()
	dir := ""
	if c.dir != "" || cmd.Dir != "" {
		dir = c.resolve(cmd.Dir)
	}
	merge := stdout != nil && stdout == stderr
	start := time.Now()
	s, err := c.startSession(wrap(tag, dir, merge), stdout.Writer(), stderr.Writer(), tag, true, nil)
	if err != nil {
		return res, err
	}
	// The script and its environment go on the session's standard input,
	// never into the command line that ps shows on the target.
	go func() {
		io.WriteString(s.ch, cmd.Payload())
		s.ch.CloseWrite()
	}()
	defer reportStarted(s, tag, cmd.Started)()
	select {
	case <-s.exited:
	case <-ctx.Done():
		res.Stopped = c.interrupt(s)
		res.Duration = time.Since(start)
		return res, transport.ContextError(ctx)
	}
	c.finish(s)
	res.Duration = time.Since(start)
	switch {
	case s.marker().nodir:
		return res, fmt.Errorf("working directory %s: cannot enter it (missing, or not a directory)", dir)
	case !s.status.ok:
		return res, c.connErr(errNoStatus)
	}
	res.ExitCode = s.status.code
	if err := errors.Join(stdout.Failed(), stderr.Failed()); err != nil {
		return res, fmt.Errorf("output: %w", err)
	}
	return res, nil
}

// interrupt stops the script of s after its context is done: it waits for
// the wrapper's marker (the script's process group), kills the group, and
// then waits for the session to end. It reports whether the group is
// known to be gone.
func (c *conn) interrupt(s *session) (stopped bool) {
	t := time.NewTimer(c.grace)
	select {
	case <-s.marked:
	case <-t.C:
	}
	t.Stop()
	select {
	case <-s.marked:
		if s.mark.found && !s.mark.nodir {
			stopped = c.killGroup(s.mark)
		}
	default:
	}
	t.Reset(c.waitDelay)
	select {
	case <-s.exited:
	case <-t.C:
	}
	t.Stop()
	c.finish(s)
	return stopped
}

// wrap builds the command sshd runs with the user's login shell. The
// outer /bin/sh makes sure it is the leader of its process group (sshd
// usually made it one already; otherwise setsid(1), which does not fork
// for a process that is not a group leader, so the pid stays), then
// evaluates the inner script: enter dir, report "TAG PID PGID" on stderr,
// and replace itself with `/bin/sh -s`, which reads the script and its
// environment from the session's standard input (transport.Command.Payload). Nothing of the command
// but this fixed text is in any process's arguments.
func wrap(tag, dir string, merge bool) string {
	return wrapLines(tag, dir, merge, "exec /bin/sh -s\n")
}

// wrapExec is wrap ending in `exec /bin/sh -c script`; script is visible
// in the target's process list, so it must hold nothing secret (uploads
// use it: their script names only paths, hashes and modes).
func wrapExec(tag, dir string, merge bool, script string) string {
	return wrapLines(tag, dir, merge, fmt.Sprintf("exec /bin/sh -c %s sh\n", quote(script)))
}

func wrapLines(tag, dir string, merge bool, last string) string {
	const pgid = `pg=; read -r _ _ _ _ pg _ 2>/dev/null </proc/$$/stat || pg=$(ps -o pgid= -p $$ 2>/dev/null | tr -d ' ')` + "\n"
	var w strings.Builder
	w.WriteString(pgid)
	if dir != "" {
		fmt.Fprintf(&w, "cd -- %s 2>/dev/null || { echo '%s nodir' >&2; exit 1; }\n", quote(dir), tag)
	}
	fmt.Fprintf(&w, "echo \"%s $$ $pg\" >&2\n", tag)
	if merge {
		w.WriteString("exec 2>&1\n")
	}
	fmt.Fprintf(&w, "export GOLIVE_PROC_TAG=%s\n", tag) // see StopGroup
	w.WriteString(last)
	outer := pgid + `if [ "$pg" != "$$" ] && command -v setsid >/dev/null 2>&1; then exec setsid /bin/sh -c 'eval "$1"' golive "$1"; fi` + "\n" + `eval "$1"`
	return "exec /bin/sh -c " + quote(outer) + " golive " + quote(w.String())
}

// quote makes s one word for a POSIX shell, with single quotes.
func quote(s string) string { return transport.Quote(s) }

func nonce() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}
