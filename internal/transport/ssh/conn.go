package ssh

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pkg/sftp"
	gossh "golang.org/x/crypto/ssh"

	"github.com/golive-dev/golive/internal/transport"
)

// conn is one SSH connection to a host, shared by all its Runs and
// Uploads.
type conn struct {
	*link
	name      string
	dir       string // absolute working directory on the host
	grace     time.Duration
	waitDelay time.Duration
	sessions  chan struct{} // semaphore: sessions held by Run
	log       *slog.Logger
	warned    *sync.Map  // shared with the Transport
	t         *Transport // for giving the link back on Close
	key       string     // the link's key in t's idle links ("" : not kept)

	closed atomic.Bool

	sftpMu    sync.Mutex
	sftp      *sftp.Client
	sftpUsers int // uploads using sftp

	idle     atomic.Pointer[pipeSession] // the session Dial set the directory up on, for Session to take
	readOnly bool                        // Host.ReadOnly: checks only, so no session is kept
}

// link is an SSH connection (with its jump host's), which a conn uses. A
// Transport with ReuseIdle keeps the link of a closed conn for the next
// Dial of the same host with the same credentials.
type link struct {
	client *gossh.Client
	jump   *gossh.Client // nil without a jump host

	deadMu  sync.Mutex
	deadErr error         // why the connection ended; set before dead is closed
	dead    chan struct{} // closed when the SSH connection has ended

	// pipe is the idle session of the conn that last held the link, kept
	// with it for reuse: the next Dial runs its set-up on it (the review's
	// read-only set-up, then the run's, on one channel).
	pipe atomic.Pointer[pipeSession]
}

func (t *Transport) newLink(name string, client, jump *gossh.Client) *link {
	l := &link{client: client, jump: jump, dead: make(chan struct{})}
	go func() {
		err := client.Wait()
		l.lose(fmt.Errorf("%w: %v", ErrConnLost, waitReason(err)))
		close(l.dead)
	}()
	if ka := orDefault(t.KeepAlive, DefaultKeepAlive); ka > 0 {
		go l.keepalive(ka, t.logger().With("host", name))
	}
	return l
}

func (t *Transport) newConn(name string, l *link) *conn {
	n := t.MaxSessions
	if n <= 0 {
		n = DefaultMaxSessions
	}
	return &conn{
		link:      l,
		name:      name,
		grace:     orDefault(t.Grace, DefaultGrace),
		waitDelay: orDefault(t.WaitDelay, DefaultWaitDelay),
		sessions:  make(chan struct{}, n),
		log:       t.logger().With("host", name),
		warned:    &t.warned,
		t:         t,
	}
}

func waitReason(err error) string {
	if err == nil {
		return "closed by the server"
	}
	return err.Error()
}

// lose records why the connection ended (the first reason wins) and
// closes it, which ends every session on it.
func (c *link) lose(cause error) {
	c.deadMu.Lock()
	if c.deadErr == nil {
		c.deadErr = cause
	}
	c.deadMu.Unlock()
	c.client.Close()
	if c.jump != nil {
		c.jump.Close()
	}
}

// lostErr is why the connection ended, or nil while it is up.
func (c *link) lostErr() error {
	select {
	case <-c.dead:
	default:
		return nil
	}
	c.deadMu.Lock()
	defer c.deadMu.Unlock()
	return c.deadErr
}

// keepalive sends keepalive@openssh.com every interval and closes the
// connection when keepAliveMisses requests in a row go unanswered. Any
// reply, even a refusal, shows the server is alive.
func (c *link) keepalive(interval time.Duration, log *slog.Logger) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	var pending chan error
	missed := 0
	for {
		select {
		case <-c.dead:
			return
		case <-tick.C:
		}
		if pending != nil {
			select {
			case err := <-pending:
				if err != nil {
					c.lose(fmt.Errorf("%w: keepalive: %v", ErrConnLost, err))
					return
				}
				pending, missed = nil, 0
			default:
				if missed++; missed >= keepAliveMisses {
					log.Warn("ssh connection stopped answering keepalives; closing it", "missed", missed, "interval", interval)
					c.lose(fmt.Errorf("%w: no reply to %d keepalives in a row (interval %v)", ErrConnLost, missed, interval))
					return
				}
				continue
			}
		}
		pending = make(chan error, 1)
		go func(reply chan<- error) {
			_, _, err := c.client.SendRequest("keepalive@openssh.com", true, nil)
			reply <- err
		}(pending)
	}
}

// Close ends the connection; Runs in flight fail.
func (c *conn) Close() error { return c.close(true) }

// Discard closes the Conn and ends its SSH connection even when the
// Transport has ReuseIdle: the caller is done with the host (the engine,
// once a host's last batch is over), so keeping the connection would only
// hold the controller's memory.
func (c *conn) Discard() error { return c.close(false) }

func (c *conn) close(reuse bool) error {
	if c.closed.Swap(true) {
		return fmt.Errorf("ssh %s: close: %w", c.name, transport.ErrClosed)
	}
	// The idle set-up session (no command runs on it) stays with a kept
	// connection, for the next Dial's set-up; it is not closed here:
	// that would wait for the host to answer.
	keep := reuse && c.key != ""
	p := c.idle.Swap(nil)
	if p != nil {
		p.detach()
	}
	c.sftpMu.Lock()
	if c.sftp != nil {
		c.sftp.Close()
		c.sftp = nil
	}
	c.sftpMu.Unlock()
	if keep && len(c.sessions) == 0 {
		if p != nil {
			c.link.pipe.Store(p)
		}
		if c.t.keep(c.key, c.link) {
			return nil
		}
	}
	c.lose(fmt.Errorf("%w: %w", ErrConnLost, transport.ErrClosed))
	<-c.dead
	return nil
}

// check returns why the connection cannot start new work, or nil.
func (c *conn) check(ctx context.Context) error {
	if c.closed.Load() {
		return transport.ErrClosed
	}
	if err := c.lostErr(); err != nil {
		return err
	}
	return transport.ContextError(ctx)
}

// acquire takes one of the connection's session slots.
func (c *conn) acquire(ctx context.Context) (release func(), err error) {
	select {
	case c.sessions <- struct{}{}:
		return func() { <-c.sessions }, nil
	case <-ctx.Done():
		return nil, transport.ContextError(ctx)
	case <-c.dead:
		return nil, c.lostErr()
	}
}

// resolve makes p absolute against the host directory; "" is the
// directory. Remote paths are always slash-separated.
func (c *conn) resolve(p string) string {
	if path.IsAbs(p) {
		return path.Clean(p)
	}
	p = path.Join(c.dir, p)
	if !path.IsAbs(p) {
		p = "./" + p // never an option to the commands it is given to
	}
	return p
}

// setupDir creates dir (relative to the remote home; "~" and "~/..." are
// the home too) and records its absolute path.
func (c *conn) setupDir(ctx context.Context, dir string, readOnly bool) error {
	c.readOnly = readOnly
	switch {
	case dir == "~":
		dir = ""
	case strings.HasPrefix(dir, "~/"):
		dir = dir[2:]
	case strings.HasPrefix(dir, "~"):
		return fmt.Errorf("working directory %q: only ~/ of the login user is supported", dir)
	}
	// Only shell builtins unless the directory is missing: each program
	// started costs the host CPU (bench/README.md, "stop 10").
	script := "cd && pwd"
	switch {
	case dir != "" && readOnly:
		// Change nothing: a missing directory is not created; its
		// nearest existing parent stands in (found as dirname(1) would).
		script = "cd && d=" + quote(dir) + "; while [ ! -d \"$d\" ] && [ \"$d\" != . ] && [ \"$d\" != / ]; do " + parentOfD + "; done; cd -- \"$d\" && pwd"
	case dir != "":
		script = "cd && { [ -d " + quote(dir) + " ] || mkdir -p -- " + quote(dir) + "; } && cd -- " + quote(dir) + " && pwd"
	}
	return c.setupDirScript(ctx, script, dir)
}

// parentOfD sets $d to its parent directory as dirname(1) prints it, with
// shell builtins only: trailing slashes are dropped, then the last
// component and the slashes before it; "." when no slash is left, "/"
// when nothing is.
const parentOfD = `while [ "$d" != / ] && [ "${d%/}" != "$d" ]; do d=${d%/}; done; case $d in */*) d=${d%/*}; while [ "${d%/}" != "$d" ]; do d=${d%/}; done; [ -n "$d" ] || d=/ ;; *) d=. ;; esac`

func (c *conn) setupDirScript(ctx context.Context, script, dir string) error {
	var out, errOut bytes.Buffer
	res, err := c.runSetup(ctx, transport.Command{Script: script, Stdout: &out, Stderr: &errOut})
	if err != nil {
		return fmt.Errorf("working directory %q: %w", dir, err)
	}
	if res.ExitCode != 0 {
		return fmt.Errorf("working directory %q: exit status %d: %s", dir, res.ExitCode, strings.TrimSpace(errOut.String()))
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	abs := strings.TrimSpace(lines[len(lines)-1])
	if !path.IsAbs(abs) {
		return fmt.Errorf("working directory %q: pwd printed %q", dir, abs)
	}
	c.dir = abs
	return nil
}

// sftpInFlight bounds the write requests of one SFTP upload that are in
// flight (32 KiB each). It bounds what the SSH server holds for the
// channel too: OpenSSH grows that buffer by copying it whole for every
// packet, so the 2 MiB of pkg/sftp's default (64 requests) cost the hosts
// more CPU than the upload itself (bench/README.md, "Uploads and the SSH
// server's buffer"). 16 requests (512 KiB) still fill a fast local link;
// over a long one they cap a host at 512 KiB per round trip.
const sftpInFlight = 16

// sftpClient returns the connection's SFTP client, starting it on first
// use; done gives it back. The client (its channel, and x/crypto's 32 KiB
// packet buffer for it) lives only while an upload uses it: a host keeps
// its connection through its health checks, and at 1,000 hosts the idle
// clients held ~35 MB (bench/README.md, "fourth round").
func (c *conn) sftpClient() (cl *sftp.Client, done func(), err error) {
	c.sftpMu.Lock()
	defer c.sftpMu.Unlock()
	if c.closed.Load() {
		return nil, nil, transport.ErrClosed
	}
	if c.sftp == nil {
		cl, err := newSFTPClient(c.client, sftp.UseConcurrentWrites(true), sftp.MaxConcurrentRequestsPerFile(sftpInFlight))
		if err != nil {
			if lost := c.lostErr(); lost != nil {
				return nil, nil, lost
			}
			return nil, nil, fmt.Errorf("start sftp: %w", err)
		}
		c.sftp = cl
	}
	cl = c.sftp
	c.sftpUsers++
	var once sync.Once
	return cl, func() { once.Do(func() { c.sftpDone(cl) }) }, nil
}

// sftpDone gives cl back; the last user closes it, in the background
// (closing waits for the server to answer).
func (c *conn) sftpDone(cl *sftp.Client) {
	c.sftpMu.Lock()
	defer c.sftpMu.Unlock()
	if c.sftp != cl {
		return // closed with the connection
	}
	if c.sftpUsers--; c.sftpUsers == 0 {
		c.sftp = nil
		go cl.Close()
	}
}

var errNoStatus = errors.New("remote command ended without an exit status")
