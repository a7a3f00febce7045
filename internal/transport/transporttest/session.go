package transporttest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golive-dev/golive/internal/transport"
)

// RunSessions runs the tests of Conn.Run (commands and interrupts) again
// with every Run going through a transport.Session that the connection
// offers (one session reused by the Runs of a test, as the engine reuses
// one for a host's steps), and then the tests of sessions themselves. The
// connections h.Dial returns must implement transport.Sessioner.
func RunSessions(t *testing.T, h Harness) {
	sh := h
	sh.Dial = func(t *testing.T, tg Target) transport.Conn {
		return SessionConn(t, h.Dial(t, tg))
	}
	run(t, sh, false, commandTests, interruptTests)
	run(t, h, false, sessionTests)
}

var sessionTests = []test{
	{name: "SessionCommandsInOrder", fn: testSessionCommandsInOrder},
	{name: "SessionLargeOutput", fn: testSessionLargeOutput},
	{name: "SessionGoesOnAfterInterrupt", fn: testSessionAfterInterrupt},
	{name: "SessionClosed", fn: testSessionClosed},
}

// SessionConn is conn with Run done over one transport.Session of conn,
// opened on the first Run and opened again when it has ended
// (transport.ErrSessionDone). It fails t when conn offers no sessions.
func SessionConn(t *testing.T, conn transport.Conn) transport.Conn {
	t.Helper()
	if _, ok := conn.(transport.Sessioner); !ok {
		t.Fatalf("%T does not implement transport.Sessioner", conn)
	}
	return &sessionConn{Conn: conn}
}

type sessionConn struct {
	transport.Conn
	mu sync.Mutex
	s  transport.Session
}

func (c *sessionConn) Run(ctx context.Context, cmd transport.Command) (transport.Result, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for try := 0; ; try++ {
		if c.s == nil {
			s, _, err := transport.OpenSession(ctx, c.Conn)
			if err != nil {
				return transport.Result{ExitCode: -1}, err
			}
			c.s = s
		}
		res, err := c.s.Run(ctx, cmd)
		if !errors.Is(err, transport.ErrSessionDone) || try > 0 {
			return res, err
		}
		c.s.Close()
		c.s = nil
	}
}

func (c *sessionConn) Close() error {
	c.mu.Lock()
	if c.s != nil {
		c.s.Close()
		c.s = nil
	}
	c.mu.Unlock()
	return c.Conn.Close()
}

// openSession dials a host and opens a session on it.
func openSession(t *testing.T, h Harness, grace time.Duration) (transport.Session, string) {
	t.Helper()
	conn, dir := dial(t, h, grace)
	s, ok, err := transport.OpenSession(context.Background(), conn)
	if err != nil || !ok {
		t.Fatalf("OpenSession = %v, %v", ok, err)
	}
	t.Cleanup(func() { s.Close() })
	return s, dir
}

func runOn(t *testing.T, s transport.Session, ctx context.Context, c transport.Command) (transport.Result, error) {
	t.Helper()
	done := make(chan runOutcome, 1)
	go func() {
		res, err := s.Run(ctx, c)
		done <- runOutcome{res, err}
	}()
	select {
	case o := <-done:
		return o.res, o.err
	case <-time.After(HangGuard):
		t.Fatalf("Session.Run did not return within %v", HangGuard)
		return transport.Result{}, nil
	}
}

// Commands on one session each get their own exit code, output, working
// directory and environment; output that looks like a boundary, or ends
// without a newline, stays the command's.
func testSessionCommandsInOrder(t *testing.T, h Harness) {
	s, root := openSession(t, h, shortGrace)
	if err := os.Mkdir(filepath.Join(root, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	fake := "golive-0123456789abcdef 1 0"
	steps := []struct {
		name   string
		cmd    transport.Command
		code   int
		out    string
		errOut string
	}{
		{"exports", transport.Command{Script: `echo "A=$A"; X=leak; export X; cd /; exit 3`, Env: map[string]string{"A": "one"}}, 3, "A=one\n", ""},
		{"no leak", transport.Command{Script: `echo "A=${A-unset} X=${X-unset}"; pwd -P`}, 0, "A=unset X=unset\n" + mustEval(t, root) + "\n", ""},
		{"no newline", transport.Command{Script: `printf 'partial'; printf 'err' >&2`, Dir: "sub"}, 0, "partial", "err"},
		{"fake boundaries", transport.Command{Script: fmt.Sprintf(`printf '\n%s\n\n%s' >&2; printf '\n%s\n'; exit 7`, fake, fake, fake)}, 7, "\n" + fake + "\n", "\n" + fake + "\n\n" + fake},
		{"empty", transport.Command{Script: ""}, 0, "", ""},
		{"killed by own signal", transport.Command{Script: "kill -TERM $$"}, 128 + 15, "", ""},
		{"after", transport.Command{Script: "pwd -P; echo err >&2", Dir: "sub"}, 0, mustEval(t, filepath.Join(root, "sub")) + "\n", "err\n"},
	}
	for _, st := range steps {
		var out, errOut bytes.Buffer
		st.cmd.Stdout, st.cmd.Stderr = &out, &errOut
		res, err := runOn(t, s, context.Background(), st.cmd)
		if err != nil || res.ExitCode != st.code {
			t.Fatalf("%s: Run = %+v, %v; want exit %d (stderr %q)", st.name, res, err, st.code, errOut.String())
		}
		if out.String() != st.out || errOut.String() != st.errOut {
			t.Errorf("%s: stdout %q, stderr %q; want %q, %q", st.name, out.String(), errOut.String(), st.out, st.errOut)
		}
	}
}

func mustEval(t *testing.T, p string) string {
	t.Helper()
	r, err := filepath.EvalSymlinks(p)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// A command's large output arrives whole (merged streams too), and the
// session goes on.
func testSessionLargeOutput(t *testing.T, h Harness) {
	s, _ := openSession(t, h, shortGrace)
	for i, merge := range []bool{false, true} {
		var out, errOut bytes.Buffer
		cmd := transport.Command{Script: `i=0; while [ $i -lt 4000 ]; do echo "line $i of the output, long enough to fill windows"; echo "e$i" >&2; i=$((i+1)); done`, Stdout: &out, Stderr: &errOut}
		if merge {
			cmd.Stderr = &out
		}
		res, err := runOn(t, s, context.Background(), cmd)
		if err != nil || res.ExitCode != 0 {
			t.Fatalf("run %d: Run = %+v, %v", i, res, err)
		}
		lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
		want := 4000
		if merge {
			want = 8000
		} else if n := strings.Count(errOut.String(), "\n"); n != 4000 {
			t.Errorf("run %d: %d stderr lines, want 4000", i, n)
		}
		if len(lines) != want || !strings.HasPrefix(lines[0], "line 0 ") {
			t.Errorf("run %d: %d stdout lines (first %q), want %d", i, len(lines), lines[0], want)
		}
	}
}

// An interrupted command is killed (its whole group) and the session
// either runs the next command or says it has ended.
func testSessionAfterInterrupt(t *testing.T, h Harness) {
	requireProc(t)
	s, _ := openSession(t, h, shortGrace)
	out := NewLineWriter()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	res, err := runOn(t, s, ctx, transport.Command{Script: "sleep 60 & echo $! $$; wait", Stdout: out})
	if !errors.Is(err, context.DeadlineExceeded) || res.ExitCode != -1 {
		t.Fatalf("Run = %+v, %v; want -1, DeadlineExceeded", res, err)
	}
	assertGone(t, pids(t, out.String()))
	var next bytes.Buffer
	res, err = runOn(t, s, context.Background(), transport.Command{Script: "echo next", Stdout: &next})
	switch {
	case errors.Is(err, transport.ErrSessionDone):
	case err != nil || res.ExitCode != 0 || next.String() != "next\n":
		t.Errorf("next Run = %+v, %v, output %q; want exit 0 and \"next\\n\" (or ErrSessionDone)", res, err, next.String())
	}
}

// After Close, Run starts nothing and returns ErrSessionDone.
func testSessionClosed(t *testing.T, h Harness) {
	s, dir := openSession(t, h, shortGrace)
	if res, err := runOn(t, s, context.Background(), transport.Command{Script: "true"}); err != nil || res.ExitCode != 0 {
		t.Fatalf("Run = %+v, %v", res, err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	res, err := s.Run(context.Background(), transport.Command{Script: "touch ran"})
	if !errors.Is(err, transport.ErrSessionDone) || res.ExitCode != -1 {
		t.Errorf("Run after Close = %+v, %v; want -1, ErrSessionDone", res, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "ran")); err == nil {
		t.Error("a command ran after Close")
	}
}
