package ssh

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/user"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/golive-dev/golive/internal/transport"
)

// Defaults for the zero fields of [Transport].
const (
	DefaultPort           = 22
	DefaultConnectTimeout = 10 * time.Second
	DefaultKeepAlive      = 15 * time.Second
	DefaultGrace          = 5 * time.Second
	DefaultWaitDelay      = 2 * time.Second
	DefaultMaxDialing     = 20
	DefaultMaxSessions    = 8
)

// keepAliveMisses is how many unanswered keepalives in a row close a
// connection.
const keepAliveMisses = 3

// Host faults. Errors returned by this package wrap one of them when the
// host, not the command, is the problem.
var (
	// ErrUnreachable: no TCP connection (refused, timed out, no route, name
	// not found), or the peer did not complete an SSH handshake.
	ErrUnreachable = errors.New("host unreachable")
	// ErrAuth: the server refused every key offered.
	ErrAuth = errors.New("authentication refused")
	// ErrHostKey: the host key is unknown, changed or revoked; the error is
	// a *HostKeyError.
	ErrHostKey = errors.New("host key not trusted")
	// ErrConnLost: an established connection broke (dropped, closed by the
	// server, or it stopped answering keepalives).
	ErrConnLost = transport.ErrConnLost
)

// Transport dials targets over SSH. The zero value is ready to use; its
// fields must not change after the first Dial.
type Transport struct {
	// ConnectTimeout bounds the TCP connection and the SSH handshake of
	// each hop; 0 means DefaultConnectTimeout.
	ConnectTimeout time.Duration
	// KeepAlive is the interval between keepalive@openssh.com requests;
	// 0 means DefaultKeepAlive, negative disables keepalives.
	KeepAlive time.Duration
	// Grace is how long an interrupted script's process group may take to
	// exit after SIGTERM before it gets SIGKILL; 0 means DefaultGrace.
	Grace time.Duration
	// WaitDelay is how long Run keeps copying output after the script
	// has exited, for processes it left behind that hold its output;
	// 0 means DefaultWaitDelay.
	WaitDelay time.Duration
	// MaxDialing bounds the connections being set up at once across all
	// Dial calls; 0 means DefaultMaxDialing.
	MaxDialing int
	// MaxSessions bounds the sessions (Runs, upload checks) open at once
	// on one connection; 0 means DefaultMaxSessions. Keep it below the
	// server's MaxSessions minus 2 (SFTP and clean-up).
	MaxSessions int
	// InsecureIgnoreHostKeys accepts any host key without checking
	// known_hosts. A warning is logged once per host. Never the default.
	InsecureIgnoreHostKeys bool
	// Logger receives warnings and connection events; nil means
	// slog.Default().
	Logger *slog.Logger
	// ReuseIdle, when positive, keeps the SSH connection of a closed
	// Conn (one that holds no session any more) for this long, for the
	// next Dial of the same host with the same user, port, jump host,
	// identity file and known_hosts file: the review's reachability check
	// and the run that follows it log in once. CloseIdle closes the
	// connections kept. 0: every Close ends the connection.
	ReuseIdle time.Duration
	// MaxIdle, when positive, is the most connections ReuseIdle keeps at
	// once; a Close beyond it ends the connection. Each kept connection
	// costs the controller memory (buffers and goroutines of the SSH
	// client), so a review of 1,000 hosts does not keep 1,000 of them.
	MaxIdle int

	idleMu sync.Mutex
	idle   map[string][]*idleLink
	nidle  int // links in idle

	knownHosts knownHostsCache

	initOnce sync.Once
	dialing  chan struct{} // semaphore over connection set-up
	warned   sync.Map      // host address -> struct{}: insecure warning logged
}

var _ transport.Transport = (*Transport)(nil)

func (t *Transport) init() {
	t.initOnce.Do(func() {
		n := t.MaxDialing
		if n <= 0 {
			n = DefaultMaxDialing
		}
		t.dialing = make(chan struct{}, n)
	})
}

func (t *Transport) logger() *slog.Logger {
	if t.Logger != nil {
		return t.Logger
	}
	return slog.Default()
}

func orDefault(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// Dial connects to h and returns a connection whose working directory is
// h.Dir (relative to the remote user's home; "" is the home), created with
// mkdir -p when missing.
func (t *Transport) Dial(ctx context.Context, h transport.Host) (transport.Conn, error) {
	t.init()
	name := h.Name
	if name == "" {
		name = h.Address
	}
	fail := func(err error) (transport.Conn, error) {
		return nil, fmt.Errorf("ssh %s: dial: %w", name, err)
	}
	if err := transport.ContextError(ctx); err != nil {
		return fail(err)
	}
	target, err := targetEndpoint(h)
	if err != nil {
		return fail(err)
	}
	var jump *endpoint
	if h.Jump != "" {
		if jump, err = parseJump(h.Jump); err != nil {
			return fail(err)
		}
	}
	key := ""
	if t.ReuseIdle > 0 {
		key = linkKey(h, target, jump)
		if l := t.takeIdle(key); l != nil {
			c := t.newConn(name, l)
			c.key = key
			c.adopt(l.pipe.Swap(nil))
			err := c.setupDir(ctx, h.Dir, h.ReadOnly)
			if err == nil {
				return c, nil
			}
			c.Close()
			if l.lostErr() == nil {
				return fail(err)
			} // the kept connection broke meanwhile: dial a new one
		}
	}
	select {
	case t.dialing <- struct{}{}:
	case <-ctx.Done():
		return fail(transport.ContextError(ctx))
	}
	client, jumpClient, err := t.connect(ctx, h, target, jump)
	<-t.dialing
	if err != nil {
		return fail(err)
	}
	c := t.newConn(name, t.newLink(name, client, jumpClient))
	c.key = key
	if err := c.setupDir(ctx, h.Dir, h.ReadOnly); err != nil {
		c.Close()
		return fail(err)
	}
	return c, nil
}

// endpoint is one SSH server to log in to.
type endpoint struct {
	user string
	host string
	port int
}

func (e endpoint) addr() string { return net.JoinHostPort(e.host, strconv.Itoa(e.port)) }

func targetEndpoint(h transport.Host) (endpoint, error) {
	host := strings.TrimSuffix(strings.TrimPrefix(h.Address, "["), "]")
	if host == "" {
		return endpoint{}, errors.New("host has no address")
	}
	e := endpoint{user: h.User, host: host, port: h.Port}
	if e.port == 0 {
		e.port = DefaultPort
	}
	if e.port < 0 || e.port > 65535 {
		return endpoint{}, fmt.Errorf("port %d out of range", h.Port)
	}
	if e.user == "" {
		e.user = localUser()
	}
	return e, nil
}

// parseJump reads a ProxyJump-style [user@]host[:port]. As with ssh -J, the
// user defaults to the controller's OS user and the port to 22.
func parseJump(s string) (*endpoint, error) {
	e := &endpoint{port: DefaultPort}
	rest := s
	if i := strings.LastIndexByte(rest, '@'); i >= 0 {
		e.user, rest = rest[:i], rest[i+1:]
	}
	e.host = rest
	if h, p, err := net.SplitHostPort(rest); err == nil {
		port, perr := strconv.Atoi(p)
		if perr != nil || port <= 0 || port > 65535 {
			return nil, fmt.Errorf("jump host %q: bad port %q", s, p)
		}
		e.host, e.port = h, port
	}
	e.host = strings.TrimSuffix(strings.TrimPrefix(e.host, "["), "]")
	if e.host == "" || strings.ContainsAny(e.host, " ,/") {
		return nil, fmt.Errorf("jump host %q: want [user@]host[:port]", s)
	}
	if e.user == "" {
		e.user = localUser()
	}
	return e, nil
}

// localUser is the controller's OS user name.
func localUser() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	return os.Getenv("LOGNAME")
}

// connect opens the SSH client for target, through jump when not nil.
// The returned jump client (nil without a jump host) must be closed after
// the target client.
func (t *Transport) connect(ctx context.Context, h transport.Host, target endpoint, jump *endpoint) (*gossh.Client, *gossh.Client, error) {
	auth, err := newAuth(h.IdentityFile)
	if err != nil {
		return nil, nil, err
	}
	defer auth.close()
	keys, err := t.hostKeys(h.Name, h.KnownHosts)
	if err != nil {
		return nil, nil, err
	}
	if jump == nil {
		nc, err := t.dialTCP(ctx, target.addr())
		if err != nil {
			return nil, nil, err
		}
		c, err := t.handshake(ctx, nc, target, auth, keys)
		return c, nil, err
	}
	nc, err := t.dialTCP(ctx, jump.addr())
	if err != nil {
		return nil, nil, fmt.Errorf("jump host %s: %w", jump.addr(), err)
	}
	jc, err := t.handshake(ctx, nc, *jump, auth, keys)
	if err != nil {
		return nil, nil, fmt.Errorf("jump host %s: %w", jump.addr(), err)
	}
	dctx, cancel := context.WithTimeout(ctx, orDefault(t.ConnectTimeout, DefaultConnectTimeout))
	defer cancel()
	tc, err := jc.DialContext(dctx, "tcp", target.addr())
	if err != nil {
		jc.Close()
		if cerr := transport.ContextError(ctx); cerr != nil {
			return nil, nil, cerr
		}
		return nil, nil, fmt.Errorf("%s via jump host %s: %w: %v", target.addr(), jump.addr(), ErrUnreachable, err)
	}
	c, err := t.handshake(ctx, tc, target, auth, keys)
	if err != nil {
		jc.Close()
		return nil, nil, err
	}
	return c, jc, nil
}

func (t *Transport) dialTCP(ctx context.Context, addr string) (net.Conn, error) {
	d := net.Dialer{Timeout: orDefault(t.ConnectTimeout, DefaultConnectTimeout), KeepAlive: 30 * time.Second}
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		if cerr := transport.ContextError(ctx); cerr != nil {
			return nil, cerr
		}
		return nil, fmt.Errorf("%s: %w: %v", addr, ErrUnreachable, err)
	}
	return nc, nil
}

// handshake runs the SSH handshake over nc, closing nc when it fails, ctx
// is done, or ConnectTimeout passes first.
func (t *Transport) handshake(ctx context.Context, nc net.Conn, e endpoint, auth *authSet, keys *hostKeys) (*gossh.Client, error) {
	timeout := orDefault(t.ConnectTimeout, DefaultConnectTimeout)
	check := keys.forAddr(e.addr())
	cfg := &gossh.ClientConfig{
		User:              e.user,
		Auth:              auth.methods(),
		HostKeyCallback:   check.callback,
		HostKeyAlgorithms: check.algorithms,
		Timeout:           timeout,
	}
	var expired atomic.Bool
	timer := time.AfterFunc(timeout, func() { expired.Store(true); nc.Close() })
	stop := context.AfterFunc(ctx, func() { nc.Close() })
	cc, chans, reqs, err := gossh.NewClientConn(nc, e.addr(), cfg)
	timer.Stop()
	stop()
	if err == nil && (transport.ContextError(ctx) != nil || expired.Load()) {
		cc.Close()
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		nc.Close()
		return nil, classifyHandshake(ctx, e, check, expired.Load(), timeout, err)
	}
	return gossh.NewClient(cc, chans, reqs), nil
}

// classifyHandshake turns a failed handshake into a host fault. Once the
// host key has been verified, the only remaining step is authentication,
// so a failure after it is an authentication failure.
func classifyHandshake(ctx context.Context, e endpoint, check *keyCheck, expired bool, timeout time.Duration, err error) error {
	switch {
	case check.failure() != nil:
		return check.failure()
	case transport.ContextError(ctx) != nil:
		return transport.ContextError(ctx)
	case expired:
		return fmt.Errorf("%s: %w: ssh handshake timed out after %v", e.addr(), ErrUnreachable, timeout)
	case check.verified.Load():
		return fmt.Errorf("%s as user %q: %w: %v", e.addr(), e.user, ErrAuth, err)
	default:
		return fmt.Errorf("%s: %w: ssh handshake failed: %v", e.addr(), ErrUnreachable, err)
	}
}
