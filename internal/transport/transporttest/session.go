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

// RunSessions runs the tests of Conn.Run (commands and interrupts) and
// Conn.Upload (but the large one) again with every Run, and every Upload
// when the session is a transport.SessionUploader, going through a
// transport.Session that the connection
// offers (one session reused by the Runs of a test, as the engine reuses
// one for a host's steps), and then the tests of sessions themselves. The
// connections h.Dial returns must implement transport.Sessioner.
func RunSessions(t *testing.T, h Harness) {
	sh := h
	sh.Dial = func(t *testing.T, tg Target) transport.Conn {
		return SessionConn(t, h.Dial(t, tg))
	}
	run(t, sh, false, commandTests, interruptTests, uploadTests)
	run(t, h, false, sessionTests)
}

var sessionTests = []test{
	{name: "SessionCommandsInOrder", fn: testSessionCommandsInOrder},
	{name: "SessionLargeOutput", fn: testSessionLargeOutput},
	{name: "SessionGoesOnAfterInterrupt", fn: testSessionAfterInterrupt},
	{name: "SessionClosed", fn: testSessionClosed},
	{name: "SessionUploadThenRun", fn: testSessionUploadThenRun},
	{name: "SessionInterruptedUploadRunsNothing", fn: testSessionInterruptedUpload},
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

func (c *sessionConn) Upload(ctx context.Context, u transport.Upload) (transport.UploadResult, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for try := 0; ; try++ {
		if c.s == nil {
			s, _, err := transport.OpenSession(ctx, c.Conn)
			if err != nil {
				return transport.UploadResult{}, err
			}
			c.s = s
		}
		su, ok := c.s.(transport.SessionUploader)
		if !ok {
			return c.Conn.Upload(ctx, u)
		}
		res, err := su.Upload(ctx, u)
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

// uploader returns s as a transport.SessionUploader, or skips the test.
func uploader(t *testing.T, s transport.Session) transport.SessionUploader {
	t.Helper()
	su, ok := s.(transport.SessionUploader)
	if !ok {
		t.Skipf("%T does not upload", s)
	}
	return su
}

// Uploads and commands share a session: an upload, a command that reads
// the file, a failing upload, and a command after it (or ErrSessionDone).
func testSessionUploadThenRun(t *testing.T, h Harness) {
	s, dir := openSession(t, h, shortGrace)
	su := uploader(t, s)
	src, sum := Source(t, "payload\n")
	res, err := su.Upload(context.Background(), transport.Upload{Src: src, SHA256: sum, To: "a/file"})
	if err != nil || res.Bytes != int64(len("payload\n")) {
		t.Fatalf("Upload = %+v, %v", res, err)
	}
	var out bytes.Buffer
	if r, err := runOn(t, s, context.Background(), transport.Command{Script: "cat a/file", Stdout: &out}); err != nil || r.ExitCode != 0 || out.String() != "payload\n" {
		t.Fatalf("Run after Upload = %+v, %v, %q", r, err, out.String())
	}
	if res, err := su.Upload(context.Background(), transport.Upload{Src: src, SHA256: sum, To: "a/file"}); err != nil || !res.Skipped {
		t.Errorf("same Upload = %+v, %v; want skipped", res, err)
	}
	// A sha256 that does not match: the target refuses the file.
	bad := strings.Repeat("0", 64)
	if _, err := su.Upload(context.Background(), transport.Upload{Src: src, SHA256: bad, To: "a/other"}); err == nil {
		t.Error("Upload with a wrong sha256 succeeded")
	}
	if _, err := os.Stat(filepath.Join(dir, "a", "other")); err == nil {
		t.Error("a file with a wrong sha256 was installed")
	}
	out.Reset()
	r, err := runOn(t, s, context.Background(), transport.Command{Script: "echo after", Stdout: &out})
	if !errors.Is(err, transport.ErrSessionDone) && (err != nil || r.ExitCode != 0 || out.String() != "after\n") {
		t.Errorf("Run after a failed Upload = %+v, %v, %q; want exit 0 or ErrSessionDone", r, err, out.String())
	}
}

// An upload interrupted while its bytes stream leaves no byte of the file
// to be taken for a command: a file made of shell commands is never run.
func testSessionInterruptedUpload(t *testing.T, h Harness) {
	s, dir := openSession(t, h, shortGrace)
	su := uploader(t, s)
	line := "touch " + filepath.Join(dir, "pwned") + "\n"
	src := filepath.Join(t.TempDir(), "commands")
	f, err := os.Create(src)
	if err != nil {
		t.Fatal(err)
	}
	chunk := []byte(strings.Repeat(line, 4096))
	for written := 0; written < 64<<20; written += len(chunk) {
		if _, err := f.Write(chunk); err != nil {
			t.Fatal(err)
		}
	}
	f.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err = su.Upload(ctx, transport.Upload{Src: src, SHA256: strings.Repeat("a", 64), To: "big"})
	if err == nil {
		t.Fatal("Upload of a file with a wrong sha256 succeeded")
	}
	for i := 0; i < 3; i++ {
		r, err := runOn(t, s, context.Background(), transport.Command{Script: "true"})
		if errors.Is(err, transport.ErrSessionDone) {
			break
		}
		if err != nil || r.ExitCode != 0 {
			t.Fatalf("Run after the interrupted Upload = %+v, %v", r, err)
		}
	}
	time.Sleep(200 * time.Millisecond)
	if _, err := os.Stat(filepath.Join(dir, "pwned")); err == nil {
		t.Fatal("bytes of the interrupted upload ran as commands")
	}
	AssertNoTemp(t, dir)
}
