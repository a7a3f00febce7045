package ssh_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	gliderssh "github.com/gliderlabs/ssh"
	"github.com/pkg/sftp"
	gossh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/golive-dev/golive/internal/transport"
	sshtr "github.com/golive-dev/golive/internal/transport/ssh"
)

func TestMain(m *testing.M) {
	// Tests choose their keys; an agent of the person running them must
	// not take part.
	os.Unsetenv("SSH_AUTH_SOCK")
	os.Exit(m.Run())
}

// serverOpts configure an in-process SSH server.
type serverOpts struct {
	// setsid runs each session's command in a new session, as OpenSSH
	// does; without it the command shares the test's process group and
	// the transport's wrapper must call setsid(1) itself.
	setsid bool
	// forward allows direct-tcpip channels (the server is a jump host).
	forward bool
	// authorized keys; nil means the fixture's client key.
	authorized []gossh.PublicKey
	// path replaces the PATH of commands when not "".
	path string
	// noSFTP leaves out the SFTP subsystem.
	noSFTP bool
	// sftp replaces the SFTP subsystem's handler when not nil.
	sftp gliderssh.SubsystemHandler
}

// testServer is an SSH server on 127.0.0.1 that runs commands with a real
// /bin/sh and serves SFTP.
type testServer struct {
	port    int
	home    string
	hostKey gossh.Signer
	srv     *gliderssh.Server

	mu     sync.Mutex
	conns  []net.Conn
	frozen atomic.Bool
	thaw   chan struct{}
	execs  atomic.Int64 // sessions that ran a command
}

// fixture is a client key and a known_hosts file trusting the servers
// made with it.
type fixture struct {
	t          *testing.T
	dir        string
	key        gossh.Signer
	keyFile    string
	knownHosts string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	dir := t.TempDir()
	f := &fixture{t: t, dir: dir}
	f.key, f.keyFile = newKeyFile(t, dir, "id_ed25519")
	f.knownHosts = filepath.Join(dir, "known_hosts")
	if err := os.WriteFile(f.knownHosts, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// newKeyFile writes a fresh unencrypted ed25519 private key.
func newKeyFile(t *testing.T, dir, name string) (gossh.Signer, string) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := gossh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	signer, err := gossh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return signer, path
}

func newSigner(t *testing.T) gossh.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := gossh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// server starts a server and adds its host key to the fixture's
// known_hosts.
func (f *fixture) server(o serverOpts) *testServer {
	t := f.t
	t.Helper()
	if o.authorized == nil {
		o.authorized = []gossh.PublicKey{f.key.PublicKey()}
	}
	ts := &testServer{home: t.TempDir(), hostKey: newSigner(t), thaw: make(chan struct{})}
	ts.srv = &gliderssh.Server{
		Handler: func(s gliderssh.Session) { ts.handle(s, o) },
		PublicKeyHandler: func(_ gliderssh.Context, key gliderssh.PublicKey) bool {
			for _, k := range o.authorized {
				if gliderssh.KeysEqual(k, key) {
					return true
				}
			}
			return false
		},
		SubsystemHandlers: map[string]gliderssh.SubsystemHandler{"sftp": serveSFTP},
		ConnCallback:      ts.track,
	}
	if o.noSFTP {
		ts.srv.SubsystemHandlers = nil
	}
	if o.sftp != nil {
		ts.srv.SubsystemHandlers = map[string]gliderssh.SubsystemHandler{"sftp": o.sftp}
	}
	ts.srv.AddHostKey(ts.hostKey)
	if o.forward {
		ts.srv.LocalPortForwardingCallback = func(gliderssh.Context, string, uint32) bool { return true }
		ts.srv.ChannelHandlers = map[string]gliderssh.ChannelHandler{
			"session":      gliderssh.DefaultSessionHandler,
			"direct-tcpip": gliderssh.DirectTCPIPHandler,
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts.port = ln.Addr().(*net.TCPAddr).Port
	go ts.srv.Serve(ln)
	t.Cleanup(func() {
		ts.unfreeze()
		ts.srv.Close()
	})
	f.trust(ts.addr(), ts.hostKey.PublicKey())
	return ts
}

func (ts *testServer) addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(ts.port)) }

// trust appends key for addr to the known_hosts file.
func (f *fixture) trust(addr string, key gossh.PublicKey) {
	f.t.Helper()
	line := knownhosts.Line([]string{knownhosts.Normalize(addr)}, key) + "\n"
	fh, err := os.OpenFile(f.knownHosts, os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		f.t.Fatal(err)
	}
	defer fh.Close()
	if _, err := fh.WriteString(line); err != nil {
		f.t.Fatal(err)
	}
}

// host is a transport.Host for ts using the fixture's key and known_hosts.
func (f *fixture) host(ts *testServer) transport.Host {
	return transport.Host{
		Name:         "web-1",
		Address:      "127.0.0.1",
		Port:         ts.port,
		User:         "deploy",
		IdentityFile: f.keyFile,
		KnownHosts:   f.knownHosts,
		Dir:          filepath.Join(ts.home, "app"),
	}
}

// handle runs the exec request with /bin/sh -c, like sshd with a POSIX
// login shell.
func (ts *testServer) handle(s gliderssh.Session, o serverOpts) {
	ts.execs.Add(1)
	cmd := exec.Command("/bin/sh", "-c", s.RawCommand())
	cmd.Dir = ts.home
	path := o.path
	if path == "" {
		path = os.Getenv("PATH")
	}
	cmd.Env = append([]string{"HOME=" + ts.home, "PATH=" + path}, s.Environ()...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = s, s, s.Stderr()
	cmd.WaitDelay = 10 * time.Second
	if o.setsid {
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	}
	err := cmd.Run()
	code := 0
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
		if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			code = 128 + int(ws.Signal())
		}
	case err != nil && !errors.Is(err, exec.ErrWaitDelay):
		io.WriteString(s.Stderr(), err.Error()+"\n")
		code = 255
	}
	s.Exit(code)
}

func serveSFTP(s gliderssh.Session) {
	srv, err := sftp.NewServer(s)
	if err != nil {
		return
	}
	srv.Serve()
	srv.Close()
}

// track wraps every accepted connection so tests can drop or freeze it.
func (ts *testServer) track(_ gliderssh.Context, c net.Conn) net.Conn {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	ts.conns = append(ts.conns, c)
	return &freezable{Conn: c, ts: ts}
}

// drop closes every connection the server has accepted.
func (ts *testServer) drop() {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	for _, c := range ts.conns {
		c.Close()
	}
}

// freeze makes the server stop reading and writing on its connections,
// like a host that has vanished from the network, until unfreeze.
func (ts *testServer) freeze() { ts.frozen.Store(true) }

func (ts *testServer) unfreeze() {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	select {
	case <-ts.thaw:
	default:
		close(ts.thaw)
	}
}

type freezable struct {
	net.Conn
	ts *testServer
}

func (c *freezable) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if c.ts.frozen.Load() {
		<-c.ts.thaw
		return 0, io.EOF
	}
	return n, err
}

func (c *freezable) Write(p []byte) (int, error) {
	if c.ts.frozen.Load() {
		<-c.ts.thaw
		return 0, io.ErrClosedPipe
	}
	return c.Conn.Write(p)
}

// dial connects with tr and closes the connection at the end of the test.
func dial(t *testing.T, tr *sshtr.Transport, h transport.Host) transport.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := tr.Dial(ctx, h)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}
