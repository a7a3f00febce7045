package ssh_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/golive-dev/golive/internal/transport"
	sshtr "github.com/golive-dev/golive/internal/transport/ssh"
)

func (ts *testServer) accepted() int {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return len(ts.conns)
}

// runOK runs script on c and fails the test unless it exits 0.
func runOK(t *testing.T, c transport.Conn, script string) string {
	t.Helper()
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := c.Run(ctx, transport.Command{Script: script, Stdout: &out})
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("Run(%q) = %+v, %v", script, res, err)
	}
	return out.String()
}

// With ReuseIdle, a closed connection is logged in on again by the next
// Dial of the same host and credentials (the review's read-only check,
// then the run), and by nothing else; CloseIdle ends it.
func TestReuseIdle(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ts := f.server(serverOpts{setsid: true})
	tr := &sshtr.Transport{ReuseIdle: time.Minute}
	defer tr.CloseIdle()
	h := f.host(ts)

	ro := h
	ro.ReadOnly = true
	c := dial(t, tr, ro)
	runOK(t, c, "true")
	if _, err := os.Stat(h.Dir); err == nil {
		t.Fatal("the read-only dial created the host directory")
	}
	c.Close()

	c = dial(t, tr, h) // the run: same host, now allowed to change it
	if got := strings.TrimSpace(runOK(t, c, "pwd")); got != h.Dir {
		t.Errorf("pwd on the reused connection = %q, want %q", got, h.Dir)
	}
	c.Close()
	if n := ts.accepted(); n != 1 {
		t.Fatalf("server accepted %d connections, want 1 (reused)", n)
	}
	// The read-only set-up's session was kept with the connection, and the
	// run's set-up ran on it: one channel for both set-ups, one per Run.
	if n := ts.execs.Load(); n != 3 {
		t.Errorf("%d exec channels for two set-ups and two Runs, want 3", n)
	}

	// Other credentials never get it.
	other := h
	other.IdentityFile = filepath.Join(t.TempDir(), "id")
	key, _ := os.ReadFile(h.IdentityFile)
	if err := os.WriteFile(other.IdentityFile, key, 0o600); err != nil {
		t.Fatal(err)
	}
	c = dial(t, tr, other)
	runOK(t, c, "true")
	if n := ts.accepted(); n != 2 {
		t.Fatalf("server accepted %d connections, want 2 (other identity file: a new one)", n)
	}
	c.Close()

	// A connection closed with its idle set-up session is kept with it.
	dial(t, tr, ro).Close()
	if n := ts.accepted(); n != 2 {
		t.Fatalf("server accepted %d connections, want 2", n)
	}
	// A connection that broke while kept is not handed out.
	ts.drop()
	c = dial(t, tr, h)
	runOK(t, c, "true")
	if n := ts.accepted(); n != 3 {
		t.Fatalf("server accepted %d connections, want 3 (the kept one was dropped)", n)
	}

	// A connection closed with a session still open is not kept.
	s, ok, err := transport.OpenSession(context.Background(), c)
	if err != nil || !ok {
		t.Fatalf("OpenSession = %v, %v", ok, err)
	}
	defer s.Close()
	c.Close()
	c = dial(t, tr, h)
	if n := ts.accepted(); n != 4 {
		t.Fatalf("server accepted %d connections, want 4 (the last one held a session)", n)
	}
	c.Close()

	dial(t, tr, ro).Close() // kept
	tr.CloseIdle()
	c = dial(t, tr, ro)
	if n := ts.accepted(); n != 5 {
		t.Fatalf("server accepted %d connections, want 5 (CloseIdle ended the kept ones)", n)
	}
	c.Close()
}

// Without ReuseIdle every Dial logs in anew.
func TestNoReuseByDefault(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ts := f.server(serverOpts{setsid: true})
	tr := &sshtr.Transport{}
	h := f.host(ts)
	c := dial(t, tr, h)
	c.Close()
	c = dial(t, tr, h)
	runOK(t, c, "true")
	if n := ts.accepted(); n != 2 {
		t.Fatalf("server accepted %d connections, want 2", n)
	}
}

// A Transport parses a known_hosts file once for all its Dials, and again
// when the file changes: a key removed from it is no longer trusted by
// the next Dial, and trusted again once it is back.
func TestKnownHostsReadAgainWhenChanged(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ts := f.server(serverOpts{setsid: true})
	tr := &sshtr.Transport{}
	h := f.host(ts)
	dial(t, tr, h).Close()
	trusted, err := os.ReadFile(h.KnownHosts)
	if err != nil {
		t.Fatal(err)
	}
	other := f.server(serverOpts{setsid: true}) // appends its own key
	all, _ := os.ReadFile(h.KnownHosts)
	if err := os.WriteFile(h.KnownHosts, bytes.ReplaceAll(all, trusted, nil), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if c, err := tr.Dial(ctx, h); !errors.Is(err, sshtr.ErrHostKey) {
		if c != nil {
			c.Close()
		}
		t.Fatalf("Dial after its key was removed = %v, want ErrHostKey", err)
	}
	dial(t, tr, f.host(other)).Close()
	if err := os.WriteFile(h.KnownHosts, all, 0o600); err != nil {
		t.Fatal(err)
	}
	dial(t, tr, h).Close()
}

// MaxIdle caps the connections kept: past it, Close ends the connection.
func TestReuseIdleMax(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ts := f.server(serverOpts{setsid: true})
	tr := &sshtr.Transport{ReuseIdle: time.Minute, MaxIdle: 1}
	defer tr.CloseIdle()
	h := f.host(ts)
	h.ReadOnly = true
	a, b := dial(t, tr, h), dial(t, tr, h)
	if n := ts.accepted(); n != 2 {
		t.Fatalf("server accepted %d connections, want 2", n)
	}
	a.Close()
	b.Close() // beyond MaxIdle: ended
	a, b = dial(t, tr, h), dial(t, tr, h)
	runOK(t, a, "true")
	runOK(t, b, "true")
	if n := ts.accepted(); n != 3 {
		t.Fatalf("server accepted %d connections, want 3 (one of two kept)", n)
	}
	a.Close()
	b.Close()
}

// Discard ends the connection even with ReuseIdle: the next Dial logs in
// anew.
func TestDiscardNotKept(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ts := f.server(serverOpts{setsid: true})
	tr := &sshtr.Transport{ReuseIdle: time.Minute}
	defer tr.CloseIdle()
	h := f.host(ts)
	h.ReadOnly = true
	c := dial(t, tr, h)
	d, ok := c.(interface{ Discard() error })
	if !ok {
		t.Fatalf("%T has no Discard", c)
	}
	if err := d.Discard(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); !errors.Is(err, transport.ErrClosed) {
		t.Errorf("Close after Discard = %v, want ErrClosed", err)
	}
	c = dial(t, tr, h)
	runOK(t, c, "true")
	if n := ts.accepted(); n != 2 {
		t.Fatalf("server accepted %d connections, want 2 (the discarded one was not kept)", n)
	}
	c.Close()
}

// A session kept with an idle connection whose loop on the host has ended
// meanwhile is not used: the next Dial's set-up opens a new one, and the
// connection is still reused. (Not parallel: it kills a process it finds
// by its command line and directory.)
func TestReuseIdleSessionEnded(t *testing.T) {
	f := newFixture(t)
	ts := f.server(serverOpts{setsid: true})
	tr := &sshtr.Transport{ReuseIdle: time.Minute}
	defer tr.CloseIdle()
	h := f.host(ts)
	ro := h
	ro.ReadOnly = true
	dial(t, tr, ro).Close()
	// The kept session's loop is the one process of this server whose
	// command line holds the loop and whose directory is the home.
	killed := 0
	procs, _ := filepath.Glob("/proc/[0-9]*")
	for _, p := range procs {
		cmdline, err := os.ReadFile(p + "/cmdline")
		if err != nil || !strings.Contains(string(cmdline), "IFS= read -r n") {
			continue
		}
		if cwd, err := os.Readlink(p + "/cwd"); err != nil || cwd != ts.home {
			continue
		}
		pid, _ := strconv.Atoi(filepath.Base(p))
		if err := syscall.Kill(pid, syscall.SIGKILL); err == nil {
			killed++
		}
	}
	if killed != 1 {
		t.Fatalf("killed %d session loops, want 1", killed)
	}
	// The test server reports the killed loop's exit only once something
	// is written to it or after its own 10 s wait: a long deadline.
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	c, err := tr.Dial(ctx, h)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer c.Close()
	if got := strings.TrimSpace(runOK(t, c, "pwd")); got != h.Dir {
		t.Errorf("pwd = %q, want %q", got, h.Dir)
	}
	if fi, err := os.Stat(h.Dir); err != nil || !fi.IsDir() {
		t.Errorf("the run's set-up did not create %s: %v", h.Dir, err)
	}
	if n := ts.accepted(); n != 1 {
		t.Errorf("server accepted %d connections, want 1 (reused)", n)
	}
}
