package ssh_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"

	"github.com/golive-dev/golive/internal/transport"
	sshtr "github.com/golive-dev/golive/internal/transport/ssh"
)

func dialErr(t *testing.T, tr *sshtr.Transport, h transport.Host) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := tr.Dial(ctx, h)
	if err == nil {
		c.Close()
		t.Fatal("Dial succeeded, want an error")
	}
	t.Logf("Dial: %v", err)
	if !strings.HasPrefix(err.Error(), "ssh "+h.Name+": ") {
		t.Errorf("error %q does not start with the host prefix", err)
	}
	return err
}

func wantContains(t *testing.T, err error, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not mention %q", err, p)
		}
	}
}

func TestHostKeyUnknown(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ts := f.server(serverOpts{})
	h := f.host(ts)
	h.KnownHosts = filepath.Join(t.TempDir(), "known_hosts") // missing file: nothing is known
	err := dialErr(t, &sshtr.Transport{}, h)
	var hk *sshtr.HostKeyError
	if !errors.Is(err, sshtr.ErrHostKey) || !errors.As(err, &hk) {
		t.Fatalf("err = %v, want a HostKeyError", err)
	}
	fp := gossh.FingerprintSHA256(ts.hostKey.PublicKey())
	wantContains(t, err, fp, "unknown", "ssh-keyscan -p "+strconv.Itoa(ts.port)+" 127.0.0.1 >> "+h.KnownHosts)
	if hk.Fingerprint != fp || len(hk.Known) != 0 {
		t.Errorf("HostKeyError = %+v", hk)
	}
}

func TestHostKeyChanged(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ts := f.server(serverOpts{})
	h := f.host(ts)
	h.KnownHosts = filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(h.KnownHosts, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	other := &fixture{t: t, knownHosts: h.KnownHosts}
	old := newSigner(t)
	other.trust(ts.addr(), old.PublicKey())
	err := dialErr(t, &sshtr.Transport{}, h)
	var hk *sshtr.HostKeyError
	if !errors.As(err, &hk) || !errors.Is(err, sshtr.ErrHostKey) {
		t.Fatalf("err = %v, want a HostKeyError", err)
	}
	wantContains(t, err, "CHANGED", gossh.FingerprintSHA256(ts.hostKey.PublicKey()),
		gossh.FingerprintSHA256(old.PublicKey()), h.KnownHosts+":1", "ssh-keygen -R")
}

func TestHostKeyKnown(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ts := f.server(serverOpts{})
	conn := dial(t, &sshtr.Transport{}, f.host(ts))
	if res, err := conn.Run(context.Background(), transport.Command{Script: "true"}); err != nil || res.ExitCode != 0 {
		t.Errorf("Run = %+v, %v", res, err)
	}
}

// syncBuffer is a goroutine-safe log destination.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestInsecureIgnoreHostKeys(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ts := f.server(serverOpts{})
	h := f.host(ts)
	h.KnownHosts = filepath.Join(t.TempDir(), "missing")
	var logs syncBuffer
	tr := &sshtr.Transport{InsecureIgnoreHostKeys: true, Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	dial(t, tr, h)
	dial(t, tr, h)
	if n := strings.Count(logs.String(), "HOST KEY VERIFICATION IS DISABLED"); n != 1 {
		t.Errorf("logged %d warnings, want 1 per host:\n%s", n, logs.String())
	}
	wantContains(t, errors.New(logs.String()), "level=WARN", "host=web-1", gossh.FingerprintSHA256(ts.hostKey.PublicKey()))
}

func TestAuthWrongKey(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ts := f.server(serverOpts{})
	h := f.host(ts)
	_, h.IdentityFile = newKeyFile(t, t.TempDir(), "other")
	err := dialErr(t, &sshtr.Transport{}, h)
	if !errors.Is(err, sshtr.ErrAuth) || errors.Is(err, sshtr.ErrUnreachable) {
		t.Errorf("err = %v, want ErrAuth", err)
	}
	wantContains(t, err, `user "deploy"`)
}

func TestAuthMissingKeyFile(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ts := f.server(serverOpts{})
	h := f.host(ts)
	h.IdentityFile = filepath.Join(t.TempDir(), "nope")
	err := dialErr(t, &sshtr.Transport{}, h)
	wantContains(t, err, "identity file", "nope")
}

// The agent at SSH_AUTH_SOCK is used when the host has no identity file.
func TestAuthAgent(t *testing.T) {
	f := newFixture(t)
	ts := f.server(serverOpts{})
	keyring := agent.NewKeyring()
	_, priv := f.keyPair(t)
	if err := keyring.Add(agent.AddedKey{PrivateKey: priv}); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(t.TempDir(), "agent.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				agent.ServeAgent(keyring, c)
			}()
		}
	}()
	t.Setenv("SSH_AUTH_SOCK", sock)
	t.Setenv("HOME", t.TempDir()) // no default keys
	h := f.host(ts)
	h.IdentityFile = ""
	conn := dial(t, &sshtr.Transport{}, h)
	if res, err := conn.Run(context.Background(), transport.Command{Script: "true"}); err != nil || res.ExitCode != 0 {
		t.Errorf("Run = %+v, %v", res, err)
	}

	t.Setenv("SSH_AUTH_SOCK", "")
	err = dialErr(t, &sshtr.Transport{}, h)
	if !errors.Is(err, sshtr.ErrAuth) {
		t.Errorf("without agent and keys: %v, want ErrAuth", err)
	}
	wantContains(t, err, "SSH_AUTH_SOCK")
}

// keyPair re-reads the fixture's private key for the agent.
func (f *fixture) keyPair(t *testing.T) (gossh.PublicKey, any) {
	t.Helper()
	b, err := os.ReadFile(f.keyFile)
	if err != nil {
		t.Fatal(err)
	}
	priv, err := gossh.ParseRawPrivateKey(b)
	if err != nil {
		t.Fatal(err)
	}
	return f.key.PublicKey(), priv
}

func TestJumpHost(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	target := f.server(serverOpts{setsid: true})
	jump := f.server(serverOpts{forward: true})
	h := f.host(target)
	h.Jump = "bastion-user@" + jump.addr()
	conn := dial(t, &sshtr.Transport{}, h)
	var out bytes.Buffer
	if res, err := conn.Run(context.Background(), transport.Command{Script: "echo through", Stdout: &out}); err != nil || res.ExitCode != 0 || out.String() != "through\n" {
		t.Errorf("Run = %+v, %v, %q", res, err, out.String())
	}

	// The jump host's key is checked against the same known_hosts.
	h.KnownHosts = filepath.Join(t.TempDir(), "known_hosts")
	other := &fixture{t: t, knownHosts: h.KnownHosts}
	if err := os.WriteFile(h.KnownHosts, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	other.trust(target.addr(), target.hostKey.PublicKey())
	err := dialErr(t, &sshtr.Transport{}, h)
	if !errors.Is(err, sshtr.ErrHostKey) {
		t.Errorf("unknown jump host key: %v, want ErrHostKey", err)
	}
	wantContains(t, err, "jump host "+jump.addr(), gossh.FingerprintSHA256(jump.hostKey.PublicKey()))
}

func TestJumpHostCannotReachTarget(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	jump := f.server(serverOpts{forward: true})
	h := transport.Host{Name: "db-1", Address: "127.0.0.1", Port: closedPort(t), IdentityFile: f.keyFile, KnownHosts: f.knownHosts, Jump: jump.addr()}
	err := dialErr(t, &sshtr.Transport{}, h)
	if !errors.Is(err, sshtr.ErrUnreachable) {
		t.Errorf("err = %v, want ErrUnreachable", err)
	}
	wantContains(t, err, "via jump host")
}

// closedPort returns a loopback port that nothing listens on.
func closedPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return port
}

func TestUnreachable(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	port := closedPort(t)
	h := transport.Host{Name: "web-9", Address: "127.0.0.1", Port: port, IdentityFile: f.keyFile, KnownHosts: f.knownHosts}
	err := dialErr(t, &sshtr.Transport{}, h)
	if !errors.Is(err, sshtr.ErrUnreachable) {
		t.Errorf("err = %v, want ErrUnreachable", err)
	}
	wantContains(t, err, "127.0.0.1:"+strconv.Itoa(port), "refused")
}

// A peer that accepts TCP but never speaks SSH times out after
// ConnectTimeout.
func TestHandshakeTimeout(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	h := transport.Host{Name: "web-8", Address: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port, IdentityFile: f.keyFile, KnownHosts: f.knownHosts}
	start := time.Now()
	err = dialErr(t, &sshtr.Transport{ConnectTimeout: 300 * time.Millisecond}, h)
	if !errors.Is(err, sshtr.ErrUnreachable) {
		t.Errorf("err = %v, want ErrUnreachable", err)
	}
	wantContains(t, err, "timed out")
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Dial took %v", d)
	}
}

func TestDialCanceled(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ts := f.server(serverOpts{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := (&sshtr.Transport{}).Dial(ctx, f.host(ts))
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}
