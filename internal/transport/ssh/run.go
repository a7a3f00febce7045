package ssh

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
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
	s, err := c.start(wrap(tag, dir, cmd.Env, cmd.Script, merge), stdout.Writer(), stderr.Writer(), tag)
	if err != nil {
		return res, err
	}
	defer reportStarted(s, tag, cmd.Started)()
	select {
	case <-s.exited:
	case <-ctx.Done():
		c.interrupt(s)
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
// then waits for the session to end.
func (c *conn) interrupt(s *session) {
	t := time.NewTimer(c.grace)
	select {
	case <-s.marked:
	case <-t.C:
	}
	t.Stop()
	select {
	case <-s.marked:
		if s.mark.found && !s.mark.nodir {
			c.killGroup(s.mark)
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
}

// wrap builds the command sshd runs with the user's login shell. The
// outer /bin/sh makes sure it is the leader of its process group (sshd
// usually made it one already; otherwise setsid(1), which does not fork
// for a process that is not a group leader, so the pid stays), then
// evaluates the inner script: enter dir, report "TAG PID PGID" on stderr,
// export env, and replace itself with `/bin/sh -c script`.
func wrap(tag, dir string, env map[string]string, script string, merge bool) string {
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
	names := make([]string, 0, len(env))
	for name := range env {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		fmt.Fprintf(&w, "export %s=%s\n", name, quote(env[name]))
	}
	fmt.Fprintf(&w, "exec /bin/sh -c %s\n", quote(script))
	outer := pgid + `if [ "$pg" != "$$" ] && command -v setsid >/dev/null 2>&1; then exec setsid /bin/sh -c 'eval "$1"' golive "$1"; fi` + "\n" + `eval "$1"`
	return "exec /bin/sh -c " + quote(outer) + " golive " + quote(w.String())
}

// quote makes s one word for a POSIX shell, with single quotes.
func quote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func nonce() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}
