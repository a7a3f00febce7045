package ssh

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/golive-dev/golive/internal/transport"
)

// A pipelined session runs many commands over one exec channel. The
// command line is a fixed loop (pipeLoop); everything else travels on the
// channel's standard input:
//
//	NONCE\n                       once, first: the session's boundary nonce
//	NONCE TAG\n PAYLOAD           per command, sent only when Run is called
//
// For each NONCE line the loop forks a child (any other line ends the
// loop: bytes of a command that did not read all of its payload are never
// taken for a command) with GOLIVE_PROC_TAG=TAG in its environment, so
// that every process of the command carries the tag StopGroup looks for
// (TAG is no secret: the journal records it). The child makes itself the
// leader of a new process group and becomes `/bin/sh -s`: where the target
// has /proc and setsid(1), the forked child, which is no group leader (the
// loop has no job control), becomes `setsid /bin/sh -s` at once (setsid
// does not fork then: same pid; golive_lead=1 tells the shell that it leads
// its group, stepPGID); elsewhere it runs pipeChild, which finds
// its process group with ps first. Two programs per command instead of
// four: on hosts where starting a program is dear (a VM's cpuid traps
// in every dynamic program's start-up), that is CPU the steps get. That
// shell reads PAYLOAD (stepPayload: one list, parsed whole before any of
// it runs), reports "TAG PID PGID" on stderr, enters the directory, and
// evaluates the command's payload with /dev/null as its standard input.
// When it has exited, the loop writes "NONCE K CODE\n" on stdout and
// "NONCE K\n" on stderr: the boundaries between commands (the child runs
// as a background job, so the loop prints no "Terminated" of its own). The nonce is
// in no process's arguments or environment, so nothing a command prints
// can end its output early or forge an exit code. The controller sends
// the next command only after both boundaries of the previous one have
// arrived, so the shells never read past their own command.

const pipeChild = `pg=; read -r _ _ _ _ pg _ 2>/dev/null </proc/$$/stat || pg=$(ps -o pgid= -p $$ 2>/dev/null | tr -d ' ')
if [ "$pg" != "$$" ] && command -v setsid >/dev/null 2>&1; then exec setsid /bin/sh -c "$1" golive "$1"; fi
exec /bin/sh -s`

const pipeLoop = `IFS= read -r n || exit 0
exec 3<&0
s=; if command -v setsid >/dev/null 2>&1 && [ -r /proc/self/stat ]; then s=1; fi
k=0
while IFS=' ' read -r l t o; do
  [ "$l" = "$n" ] || exit 2
  case $t in golive-*) ;; *) exit 2 ;; esac
  case $t in *[!0-9a-z-]*) exit 2 ;; esac
  k=$((k+1))
  if [ "$o" = own ]; then
    q=; while IFS= read -r x; do [ "$x" = "$n" ] && break; q="$q$x
"; done
    [ "$x" = "$n" ] || exit 2
    ( n=; export GOLIVE_PROC_TAG=$t; eval "$q" ) </dev/null 3<&- &
  else
  [ -z "$o" ] || exit 2
  (
    export GOLIVE_PROC_TAG=$t
    if [ -n "$s" ]; then export golive_lead=1; exec setsid /bin/sh -s; fi
    exec /bin/sh -c "$1" golive "$1"
  ) <&3 3<&- &
  fi
  wait $! 2>/dev/null
  c=$?
  printf '%s %s %s\n' "$n" "$k" "$c"
  printf '%s %s\n' "$n" "$k" >&2
done`

// A command of golive's own (a connection's directory set-up, an
// upload's hash check: fixed scripts that name only quoted paths, never a
// plan's script or a secret) is sent as "NONCE TAG own", its payload
// (ownPayload) and a line holding only NONCE. The loop reads the payload
// itself (up to that line) and evaluates it in a forked subshell: no
// setsid(1) and no fresh /bin/sh, two programs fewer per command (each
// ~1-2 ms of the target's CPU). The subshell stays in the loop's process
// group, so an interrupt signals its pid only (marker "TAG PID own"): its
// short-lived children (mkdir, sha256sum) finish on their own.

// ownPayload is what the loop evaluates for c, a command of golive's own.
// The subshell's pid comes from the /proc/self link (cd -P: builtins only).
func ownPayload(tag, dir string, merge bool, c transport.Command) string {
	return payload("p=0 o=$PWD; if cd -P /proc/self 2>/dev/null; then p=${PWD##*/}; cd -- \"$o\" || exit 1; fi\n",
		tag, dir, "$p own", merge, c)
}

// payload is a command's script for a pipelined session: head (finding
// the pids the marker names), the change to dir, the marker line "TAG
// marker" on stderr, then c's own script.
func payload(head, tag, dir, marker string, merge bool, c transport.Command) string {
	var w strings.Builder
	w.WriteString("{\n")
	w.WriteString(head)
	if dir != "" {
		fmt.Fprintf(&w, "cd -- %s 2>/dev/null || { echo '%s nodir' >&2; exit 1; }\n", quote(dir), tag)
	}
	fmt.Fprintf(&w, "echo \"%s %s\" >&2\n", tag, marker)
	if merge {
		w.WriteString("exec 2>&1\n")
	}
	w.WriteString(c.Payload())
	w.WriteString("}; exit\n")
	return w.String()
}

// stepPGID sets $pg to the shell's process group: its own pid when the
// loop made it a group leader with setsid(1) (golive_lead, unset then);
// read from /proc or ps otherwise. Reading /proc/PID/stat with the
// shell's read, one byte per call, costs the target ~0.2 ms of CPU.
const stepPGID = `if [ "${golive_lead-}" = 1 ]; then pg=$$; else pg=; read -r _ _ _ _ pg _ 2>/dev/null </proc/$$/stat || pg=$(ps -o pgid= -p $$ 2>/dev/null | tr -d ' '); fi; unset golive_lead` + "\n"

// stepPayload is what the child shell of a pipelined session reads for c.
func stepPayload(tag, dir string, merge bool, c transport.Command) string {
	return payload(stepPGID, tag, dir, "$$ $pg", merge, c)
}

// pipeSession is a transport.Session over one exec channel.
type pipeSession struct {
	c       *conn
	s       *session
	release func()
	nonce   string
	out     *framer // stdout
	errs    *framer // stderr

	mu   sync.Mutex
	k    int   // commands sent
	done error // why no more commands can run; nil while they can
}

// Session opens a pipelined session: one exec channel for many commands.
// The first Session of a connection that may change its host is the one
// Dial set the working directory up on.
func (c *conn) Session(ctx context.Context) (transport.Session, error) {
	if p := c.idle.Swap(nil); p != nil {
		return p, nil
	}
	p, err := c.openPipe(ctx)
	if err != nil {
		return nil, fmt.Errorf("ssh %s: session: %w", c.name, err)
	}
	return p, nil
}

func (c *conn) openPipe(ctx context.Context) (*pipeSession, error) {
	if err := c.check(ctx); err != nil {
		return nil, err
	}
	release, err := c.acquire(ctx)
	if err != nil {
		return nil, err
	}
	n := nonce() + nonce()
	p := &pipeSession{c: c, release: release, nonce: n, out: newFramer(n), errs: newFramer(n)}
	s, err := c.startSession("exec /bin/sh -c "+quote(pipeLoop)+" golive "+quote(pipeChild), p.out, p.errs, "", true, func() {
		p.out.end()
		p.errs.end()
	})
	if err != nil {
		release()
		return nil, err
	}
	p.s = s
	if _, err := io.WriteString(s.ch, n+"\n"); err != nil {
		p.end(fmt.Errorf("%w: %v", transport.ErrSessionDone, err))
		return nil, c.connErr(err)
	}
	return p, nil
}

// Run runs cmd as the session's next command.
func (p *pipeSession) Run(ctx context.Context, cmd transport.Command) (transport.Result, error) {
	res, err := p.run(ctx, cmd)
	if err != nil {
		return res, fmt.Errorf("ssh %s: run: %w", p.c.name, err)
	}
	return res, nil
}

func (p *pipeSession) run(ctx context.Context, cmd transport.Command) (transport.Result, error) {
	return p.runAs(ctx, cmd, false)
}

// runOwn runs cmd, a command of golive's own, in the session's loop (see
// ownPayload).
func (p *pipeSession) runOwn(ctx context.Context, cmd transport.Command) (transport.Result, error) {
	return p.runAs(ctx, cmd, true)
}

func (p *pipeSession) runAs(ctx context.Context, cmd transport.Command, own bool) (transport.Result, error) {
	res := transport.Result{ExitCode: -1}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done != nil {
		return res, p.done
	}
	if err := p.c.check(ctx); err != nil {
		return res, err
	}
	if err := cmd.Validate(); err != nil {
		return res, err
	}
	stdout, stderr := transport.Outputs(cmd.Stdout, cmd.Stderr)
	merge := stdout != nil && stdout == stderr
	dir := ""
	if p.c.dir != "" || cmd.Dir != "" {
		dir = p.c.resolve(cmd.Dir)
	}
	tag := "golive-" + nonce()
	mw := newMarkWriter(tag, stderr.Writer())
	p.out.setWriter(stdout.Writer())
	p.errs.setWriter(mw)
	p.k++
	start := time.Now()
	frame := p.nonce + " " + tag + "\n" + stepPayload(tag, dir, merge, cmd)
	if own {
		frame = p.nonce + " " + tag + " own\n" + ownPayload(tag, dir, merge, cmd) + p.nonce + "\n"
	}
	// The process group reaches cmd.Started once the marker arrived;
	// mw.finish below closes marked on every path.
	defer reportMarked(mw.marked, mw.marker, tag, cmd.Started)()
	go io.WriteString(p.s.ch, frame) // a failed write ends the channel: seen below
	code, stopped, err := p.wait(ctx, mw)
	res.Duration = time.Since(start)
	mw.finish()
	if err != nil {
		res.Stopped = stopped
		return res, err
	}
	if m := mw.marker(); m.nodir {
		return res, fmt.Errorf("working directory %s: cannot enter it (missing, or not a directory)", dir)
	}
	res.ExitCode = code
	if err := errors.Join(stdout.Failed(), stderr.Failed()); err != nil {
		return res, fmt.Errorf("output: %w", err)
	}
	return res, nil
}

// wait waits for both boundaries of command p.k and returns its exit
// code. When ctx ends first, it kills the command's process group
// (stopped: the group is known to be gone) and waits for the boundaries a
// while longer; a session whose command does not end is closed.
func (p *pipeSession) wait(ctx context.Context, mw *markWriter) (code int, stopped bool, err error) {
	var outEnd, errEnd string
	gotOut, gotErr := false, false
	// The loop's exit status arriving means no boundary will follow the
	// ones already on their way (the loop ends only between commands, or
	// when it is killed). The channel may stay open (a process left in the
	// background holds the output), so do not wait for its end.
	exited := (<-chan struct{})(p.s.exited)
	var loopGone <-chan time.Time
	ends := func(timeout <-chan time.Time) error {
		for !gotOut || !gotErr {
			var ok bool
			select {
			case outEnd, ok = <-p.out.ends:
				gotOut = true
			case errEnd, ok = <-p.errs.ends:
				gotErr = true
			case <-timeout:
				return errors.New("the interrupted command did not end")
			case <-exited:
				exited, loopGone = nil, time.After(p.c.waitDelay)
				continue
			case <-loopGone:
				err := p.c.connErr(fmt.Errorf("the session's loop on the target ended while the command ran (%s)", p.s.status))
				p.end(fmt.Errorf("%w: %w", transport.ErrSessionDone, err))
				return err
			}
			if !ok {
				err := p.c.connErr(errors.New("session ended unexpectedly"))
				p.end(fmt.Errorf("%w: %w", transport.ErrSessionDone, err))
				return err
			}
		}
		return nil
	}
	done := make(chan time.Time)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		select {
		case <-ctx.Done():
			close(done)
		case <-stop:
		}
	}()
	if err := ends(done); err != nil {
		if ctx.Err() == nil {
			return -1, false, err
		}
		stopped = p.interrupt(mw)
		t := time.NewTimer(p.c.waitDelay)
		defer t.Stop()
		if err := ends(t.C); err != nil {
			p.end(fmt.Errorf("%w: %v", transport.ErrSessionDone, err))
		}
		return -1, stopped, transport.ContextError(ctx)
	}
	k, code, ok := parseEnds(outEnd, errEnd)
	if !ok || k != p.k {
		err := fmt.Errorf("bad command boundary %q/%q for command %d", outEnd, errEnd, p.k)
		p.end(fmt.Errorf("%w: %v", transport.ErrSessionDone, err))
		return -1, false, err
	}
	return code, false, nil
}

// parseEnds reads "K CODE" and "K".
func parseEnds(out, errs string) (k, code int, ok bool) {
	f := strings.Fields(out)
	if len(f) != 2 || f[0] != strings.TrimSpace(errs) {
		return 0, 0, false
	}
	k, err1 := strconv.Atoi(f[0])
	code, err2 := strconv.Atoi(f[1])
	return k, code, err1 == nil && err2 == nil
}

// interrupt kills the current command's process group (SIGTERM, then
// SIGKILL after the grace period) once its marker has arrived, and
// reports whether the group is known to be gone.
func (p *pipeSession) interrupt(mw *markWriter) bool {
	t := time.NewTimer(p.c.grace)
	defer t.Stop()
	select {
	case <-mw.marked:
	case <-t.C:
	case <-p.s.exited:
	}
	if m := mw.marker(); m.found && !m.nodir {
		return p.c.killGroup(m)
	}
	return false
}

// end marks the session unusable and closes its channel.
func (p *pipeSession) end(why error) {
	if p.done == nil {
		p.done = why
	}
	p.s.ch.Close()
}

// Close ends the session: the loop on the target reads the end of its
// input and exits.
func (p *pipeSession) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.release == nil {
		return fmt.Errorf("ssh %s: session: %w", p.c.name, transport.ErrSessionDone)
	}
	if p.done == nil {
		p.done = fmt.Errorf("%w: closed", transport.ErrSessionDone)
		p.s.ch.CloseWrite()
		t := time.NewTimer(p.c.waitDelay)
		select {
		case <-p.s.exited:
		case <-t.C:
		}
		t.Stop()
	}
	p.c.finish(p.s)
	p.release()
	p.release = nil
	return nil
}

// runSetup runs Dial's set-up command. A connection that may change its
// host, or one whose link may be kept for reuse (the review's read-only
// dial, before the run's), runs it on a pipelined session and keeps that
// session for the first Session (the engine's steps) or for the next
// Dial over the same link: the review's set-up, the run's and a host's
// steps take one exec channel. A session kept with the link is used
// first; when it fails, a new one is opened (the set-up changes nothing
// twice: mkdir -p).
func (c *conn) runSetup(ctx context.Context, cmd transport.Command) (transport.Result, error) {
	if c.readOnly && c.key == "" {
		return c.run(ctx, cmd)
	}
	if p := c.idle.Swap(nil); p != nil {
		// A kept session that does not answer in time is given up (its
		// channel closed) for a new one.
		t := time.AfterFunc(2*c.waitDelay+connErrGrace, func() { p.s.ch.Close() })
		res, err := p.runOwn(ctx, cmd)
		if !t.Stop() && err == nil { // closed just as it answered
			err = errors.New("kept session given up")
		}
		if err == nil {
			c.idle.Store(p)
			return res, nil
		}
		p.Close()
		if ctx.Err() != nil || c.lostErr() != nil {
			return res, err
		}
	}
	p, err := c.openPipe(ctx)
	if err != nil {
		return c.run(ctx, cmd)
	}
	res, err := p.runOwn(ctx, cmd)
	if err != nil {
		p.Close()
		return res, err
	}
	c.idle.Store(p)
	return res, nil
}

// detach gives back the session slot of an idle session whose conn is
// closing; the link keeps the session for the next conn (adopt).
func (p *pipeSession) detach() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.release != nil {
		p.release()
		p.release = nil
	}
}

// adopt makes p, an idle session kept with c's link, c's: it takes one of
// c's session slots and is the session c's set-up runs on. A session that
// ended meanwhile (its loop exited) is dropped.
func (c *conn) adopt(p *pipeSession) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done != nil || p.release != nil {
		return
	}
	select {
	case <-p.s.exited: // its loop on the host has ended
		p.s.ch.Close()
		return
	default:
	}
	select {
	case c.sessions <- struct{}{}:
	default:
		return
	}
	p.c = c
	p.release = func() { <-c.sessions }
	c.idle.Store(p)
}

// runIdle runs cmd, a command that changes nothing (an upload's hash
// checks), on the session Dial set the directory up on while no Session
// has taken it yet (a host's upload comes before its first step), and on
// a channel of its own otherwise: per host, one channel and the programs
// that start its shell fewer. A run that fails on the session runs again
// on a channel of its own.
func (c *conn) runIdle(ctx context.Context, cmd transport.Command) (transport.Result, error) {
	if p := c.idle.Swap(nil); p != nil {
		res, err := p.runOwn(ctx, cmd)
		if err == nil {
			if c.closed.Load() || !c.idle.CompareAndSwap(nil, p) {
				p.Close()
			}
			return res, nil
		}
		p.Close()
		if ctx.Err() != nil || c.lostErr() != nil {
			return res, err
		}
	}
	return c.run(ctx, cmd)
}
