package ssh

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync/atomic"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/golive-dev/golive/internal/transport"
)

// connErrGrace is how long a failed session waits for the connection
// watcher to say whether the whole connection has gone.
const connErrGrace = time.Second

// session is one exec channel.
type session struct {
	ch gossh.Channel

	exited chan struct{} // closed once status is known or the channel ended
	status exitStatus

	marked chan struct{} // closed once the stderr marker was read, or stderr ended
	mark   marker

	outDone chan struct{} // closed when stdout and stderr are copied to the end
}

type exitStatus struct {
	code int
	ok   bool // false: the channel ended without an exit status
}

func (st exitStatus) String() string {
	if !st.ok {
		return "no exit status"
	}
	return "exit status " + strconv.Itoa(st.code)
}

// marker is what the wrapper reports on its first stderr line.
type marker struct {
	found bool
	nodir bool // the working directory could not be entered
	own   bool // a command of golive's own in a session's loop: in the loop's group, pid only
	pid   int
	pgid  int
}

// start opens a session and executes command in it, with standard input
// closed. Output goes to stdout and stderr (nil discards it). When tag is
// not "", stderr lines before the one starting with tag pass through, and
// that line is parsed as the wrapper's marker and dropped.
func (c *conn) start(command string, stdout, stderr io.Writer, tag string) (*session, error) {
	return c.startSession(command, stdout, stderr, tag, false, nil)
}

// startSession is start; with stdin, the session's standard input is left
// open for the caller to write to s.ch and close with CloseWrite. When
// stdout and stderr have been copied to their end, onOutEnd (when not nil)
// is called, and then outDone is closed.
func (c *conn) startSession(command string, stdout, stderr io.Writer, tag string, stdin bool, onOutEnd func()) (*session, error) {
	ch, reqs, err := c.client.OpenChannel("session", nil)
	if err != nil {
		return nil, c.connErr(fmt.Errorf("open session: %w", err))
	}
	ok, err := ch.SendRequest("exec", true, gossh.Marshal(&struct{ Command string }{command}))
	if err != nil || !ok {
		ch.Close()
		if err == nil {
			err = errors.New("refused by the server")
		}
		return nil, c.connErr(fmt.Errorf("exec request: %w", err))
	}
	if !stdin {
		ch.CloseWrite()
	}
	s := &session{ch: ch, exited: make(chan struct{}), marked: make(chan struct{}), outDone: make(chan struct{})}
	go s.watch(reqs)
	if stdout == nil {
		stdout = io.Discard
	}
	if stderr == nil {
		stderr = io.Discard
	}
	// The second copy to end closes outDone (no goroutine of its own
	// waits for them: a host in flight holds few goroutines).
	var copying atomic.Int32
	copying.Store(2)
	copied := func() {
		if copying.Add(-1) == 0 {
			if onOutEnd != nil {
				onOutEnd()
			}
			close(s.outDone)
		}
	}
	go func() {
		defer copied()
		io.CopyBuffer(stdout, onlyReader{ch}, make([]byte, outputBufferSize))
	}()
	go func() {
		defer copied()
		s.copyStderr(stderr, tag)
	}()
	return s, nil
}

// watch reads the channel's requests for the exit status.
func (s *session) watch(reqs <-chan *gossh.Request) {
	done := false
	for req := range reqs {
		var st exitStatus
		switch req.Type {
		case "exit-status":
			var m struct{ Status uint32 }
			if gossh.Unmarshal(req.Payload, &m) == nil {
				st = exitStatus{code: int(m.Status), ok: true}
			}
		case "exit-signal":
			var m struct {
				Signal     string
				CoreDumped bool
				Error      string
				Lang       string
			}
			if gossh.Unmarshal(req.Payload, &m) == nil {
				st = exitStatus{code: 128 + signalNumber(m.Signal), ok: true}
			}
		}
		if req.WantReply {
			req.Reply(false, nil)
		}
		if st.ok && !done {
			done = true
			s.status = st
			close(s.exited)
		}
	}
	if !done {
		close(s.exited)
	}
}

// copyStderr copies the session's stderr to w, taking the marker line out.
func (s *session) copyStderr(w io.Writer, tag string) {
	r := io.Reader(s.ch.Stderr())
	if tag != "" {
		br := bufio.NewReaderSize(r, 4096)
		prefix := []byte(tag + " ")
		for !s.mark.found {
			line, err := br.ReadSlice('\n')
			if bytes.HasPrefix(line, prefix) && bytes.HasSuffix(line, []byte("\n")) {
				s.mark = parseMarker(line[len(prefix):])
				break
			}
			w.Write(line)
			if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
				break
			}
		}
		r = br
	}
	close(s.marked)
	io.CopyBuffer(w, onlyReader{r}, make([]byte, outputBufferSize))
}

// outputBufferSize is the buffer of each copy of a command's output: a
// session holds four (stdout, stderr and, pipelined, their framers), for
// as long as the host's connection lives.
const outputBufferSize = 8 << 10

// onlyReader hides a reader's other methods (WriterTo), so that
// io.CopyBuffer uses the buffer it is given.
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

// marker returns the wrapper's marker once stderr has delivered it (or
// ended), and the zero marker before.
func (s *session) marker() marker {
	select {
	case <-s.marked:
		return s.mark
	default:
		return marker{}
	}
}

// parseMarker reads "PID PGID" or "nodir".
func parseMarker(b []byte) marker {
	f := bytes.Fields(b)
	m := marker{found: true}
	if len(f) == 1 && string(f[0]) == "nodir" {
		m.nodir = true
		return m
	}
	if len(f) > 0 {
		m.pid, _ = strconv.Atoi(string(f[0]))
	}
	if len(f) > 1 && string(f[1]) == "own" {
		m.own = true
		return m
	}
	if len(f) > 1 {
		m.pgid, _ = strconv.Atoi(string(f[1]))
	}
	return m
}

// finish waits up to waitDelay for the output to end, then closes the
// channel, cutting off output that processes left behind still write.
func (c *conn) finish(s *session) {
	t := time.NewTimer(c.waitDelay)
	defer t.Stop()
	select {
	case <-s.outDone:
	case <-t.C:
	}
	s.ch.Close()
	t.Reset(c.waitDelay)
	select {
	case <-s.outDone:
	case <-t.C:
	}
}

// connErr returns the connection's end as the error when err was caused
// by the connection going away, and err otherwise.
func (c *conn) connErr(err error) error {
	t := time.NewTimer(connErrGrace)
	defer t.Stop()
	select {
	case <-c.dead:
		return c.lostErr()
	case <-t.C:
		return err
	}
}

// killGroup sends SIGTERM to the process group the marker names, waits
// until the group has exited or the grace period has passed, and then
// sends SIGKILL and waits (up to 2s) for the group to be gone, all from a
// new session. When the server did not put the
// script in a group of its own, only the script's process is signalled.
// It reports whether the group is known to be gone.
func (c *conn) killGroup(m marker) bool {
	script, ok := c.killScript(m)
	if !ok {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.grace+10*time.Second)
	defer cancel()
	for {
		code, err := c.execKiller(ctx, script)
		if err == nil {
			return code == 0 && m.pgid > 1 && m.pgid == m.pid
		}
		var refused *gossh.OpenChannelError
		if !errors.As(err, &refused) || ctx.Err() != nil {
			c.log.Warn("could not stop the remote process group", "pgid", m.pgid, "err", err)
			return false
		}
		// The server's MaxSessions is reached: retry as sessions end.
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// groupAlive is a shell function that tells whether process group $1 has
// a member that has not exited. On Linux it reads /proc, so zombies (which
// may never be reaped in a container without an init) do not count;
// elsewhere it asks kill(1), which counts them. A group kill(1) finds no
// process of (zombies included) is gone without reading /proc: the
// common case once the group got its SIGTERM, and the cheap one (a host
// with thousands of processes takes tens of milliseconds of CPU to read
// them all, for each of hundreds of groups stopped at once).
const groupAlive = `alive() {
  kill -s 0 -- "-$1" 2>/dev/null || return 1
  [ -r /proc/self/stat ] || return 0
  for s in /proc/[0-9]*/stat; do
    read -r l 2>/dev/null <"$s" || continue
    l=${l##*) }; set -- "$1" $l
    [ "$4" = "$1" ] && [ "$2" != Z ] && [ "$2" != X ] && return 0
  done
  return 1
}
`

// killScript is the clean-up script for the script m describes; false
// when there is nothing to signal.
func (c *conn) killScript(m marker) (string, bool) {
	target, alive := "-- -"+strconv.Itoa(m.pgid), "alive "+strconv.Itoa(m.pgid)
	if m.pgid <= 1 || m.pgid != m.pid {
		if m.pid <= 1 {
			return "", false
		}
		target = strconv.Itoa(m.pid)
		alive = "kill -s 0 " + target + " 2>/dev/null"
		// golive's own commands run in a session loop's group on purpose.
		if !m.own {
			if _, seen := c.warned.LoadOrStore("pgid "+c.name, struct{}{}); !seen {
				c.log.Warn("remote script is not a process group leader (no setsid on the host?): only its shell is signalled on interrupt, not its children")
			}
		}
	}
	ticks := int(c.grace / (100 * time.Millisecond))
	// Exit status 0: the group is gone; 1: it survived SIGKILL for 2s.
	return groupAlive + fmt.Sprintf(`kill -s TERM %[1]s 2>/dev/null || exit 0; i=0
while %[3]s; do
  if [ "$i" -ge %[2]d ]; then kill -s KILL %[1]s 2>/dev/null; i=0; while %[3]s && [ "$i" -lt 20 ]; do sleep 0.1 2>/dev/null || sleep 1; i=$((i+1)); done; if %[3]s; then exit 1; fi; exit 0; fi
  sleep 0.1 2>/dev/null || sleep 1; i=$((i+1))
done`, target, ticks, alive), true
}

// execKiller runs the kill script and returns its exit status.
func (c *conn) execKiller(ctx context.Context, script string) (int, error) {
	// Opening a channel waits for the server; a host that stopped
	// answering must not hold Run back past ctx.
	type opened struct {
		s   *session
		err error
	}
	ch := make(chan opened, 1)
	go func() {
		s, err := c.start("exec /bin/sh -c "+quote(script), nil, nil, "")
		ch <- opened{s, err}
	}()
	var o opened
	select {
	case o = <-ch:
	case <-ctx.Done():
		c.lose(fmt.Errorf("%w: no answer while stopping a script", ErrConnLost))
		go func() {
			if o := <-ch; o.s != nil {
				c.finish(o.s)
			}
		}()
		return -1, transport.ContextError(ctx)
	}
	s, err := o.s, o.err
	if err != nil {
		return -1, err
	}
	select {
	case <-s.exited:
	case <-ctx.Done():
	}
	c.finish(s)
	if err := transport.ContextError(ctx); err != nil {
		return -1, err
	}
	if !s.status.ok {
		return -1, c.connErr(errNoStatus)
	}
	return s.status.code, nil
}

// signalNumber maps an SSH signal name (RFC 4254 without "SIG") to its
// number on Linux; 0 when unknown.
func signalNumber(name string) int {
	return map[string]int{
		"HUP": 1, "INT": 2, "QUIT": 3, "ILL": 4, "TRAP": 5, "ABRT": 6, "BUS": 7, "FPE": 8, "KILL": 9,
		"USR1": 10, "SEGV": 11, "USR2": 12, "PIPE": 13, "ALRM": 14, "TERM": 15,
	}[name]
}
