package ssh_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/golive-dev/golive/internal/transport"
	sshtr "github.com/golive-dev/golive/internal/transport/ssh"
	"github.com/golive-dev/golive/internal/transport/transporttest"
)

// A host's set-up (Dial), an upload and its commands on a session take
// one exec channel in all: the session Dial set the directory up on is the first
// one Session returns.
func TestDialAndSessionShareOneChannel(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ts := f.server(serverOpts{setsid: true})
	h := f.host(ts)
	h.Dir = t.TempDir()
	conn := dial(t, &sshtr.Transport{}, h)
	s, ok, err := transport.OpenSession(context.Background(), conn)
	if err != nil || !ok {
		t.Fatalf("OpenSession = %v, %v", ok, err)
	}
	defer s.Close()
	src, sum := transporttest.Source(t, "artifact\n")
	if res, err := s.(transport.SessionUploader).Upload(context.Background(), transport.Upload{Src: src, SHA256: sum, To: "app.tgz"}); err != nil || res.Bytes != 9 {
		t.Fatalf("Upload = %+v, %v", res, err)
	}
	for i, script := range []string{"echo one", "cat app.tgz", "exit 4"} {
		var out bytes.Buffer
		res, err := s.Run(context.Background(), transport.Command{Script: script, Stdout: &out})
		if err != nil {
			t.Fatalf("command %d: %v", i, err)
		}
		if i == 2 && res.ExitCode != 4 {
			t.Errorf("exit %d, want 4", res.ExitCode)
		}
	}
	if n := ts.execs.Load(); n != 1 {
		t.Errorf("%d exec channels for the set-up, an upload and 3 commands, want 1", n)
	}
	// A read-only connection keeps no session open.
	h.ReadOnly = true
	ro := dial(t, &sshtr.Transport{}, h)
	if _, err := ro.Run(context.Background(), transport.Command{Script: "true"}); err != nil {
		t.Fatal(err)
	}
	if n := ts.execs.Load(); n != 3 {
		t.Errorf("%d exec channels after a read-only dial and a Run, want 3", n)
	}
}

// An upload over SFTP checks the file's hash on the target on the session
// Dial set the directory up on (while no Session has taken it), not on an
// exec channel of its own; that session is still the first one Session
// returns, so the set-up, the upload and a host's commands take one exec
// channel in all.
func TestUploadHashesOnTheSetUpSession(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ts := f.server(serverOpts{setsid: true})
	h := f.host(ts)
	h.Dir = t.TempDir()
	conn := dial(t, &sshtr.Transport{}, h)
	src, sum := transporttest.Source(t, "artifact\n")
	ctx := context.Background()
	if res, err := conn.Upload(ctx, transport.Upload{Src: src, SHA256: sum, To: "app.tgz"}); err != nil || res.Bytes != 9 {
		t.Fatalf("Upload = %+v, %v", res, err)
	}
	// Again: the file is there with that hash, so nothing is copied.
	if res, err := conn.Upload(ctx, transport.Upload{Src: src, SHA256: sum, To: "app.tgz"}); err != nil || !res.Skipped {
		t.Fatalf("second Upload = %+v, %v; want skipped", res, err)
	}
	s, ok, err := transport.OpenSession(ctx, conn)
	if err != nil || !ok {
		t.Fatalf("OpenSession = %v, %v", ok, err)
	}
	defer s.Close()
	var out bytes.Buffer
	if _, err := s.Run(ctx, transport.Command{Script: "cat app.tgz", Stdout: &out}); err != nil || out.String() != "artifact\n" {
		t.Fatalf("Run = %q, %v", out.String(), err)
	}
	if n := ts.execs.Load(); n != 1 {
		t.Errorf("%d exec channels for the set-up, two uploads and a command, want 1", n)
	}
	// A wrong hash is still caught on the target, and the session lives on.
	bad := strings.Repeat("0", 64)
	if _, err := conn.Upload(ctx, transport.Upload{Src: src, SHA256: bad, To: "other.tgz"}); err == nil {
		t.Fatal("Upload with a wrong sha256 succeeded")
	}
	out.Reset()
	if _, err := s.Run(ctx, transport.Command{Script: "echo alive", Stdout: &out}); err != nil || out.String() != "alive\n" {
		t.Fatalf("Run after a failed upload = %q, %v", out.String(), err)
	}
}

// The session's boundary nonce is in no argument list or environment a
// command can read (its own, its parent shell's), so a command cannot end
// its output early or forge another command's exit code.
func TestSessionNonceIsNotVisible(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	h := f.host(f.server(serverOpts{setsid: true}))
	h.Dir = t.TempDir()
	conn := dial(t, &sshtr.Transport{}, h)
	s, _, err := transport.OpenSession(context.Background(), conn)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	nonce := sshtr.SessionNonce(s)
	var out bytes.Buffer
	script := `for p in $$ $PPID; do cat /proc/$p/cmdline /proc/$p/environ; echo; done; env; set`
	if res, err := s.Run(context.Background(), transport.Command{Script: script, Stdout: &out, Stderr: &out}); err != nil || res.ExitCode != 0 {
		t.Fatalf("Run = %+v, %v: %s", res, err, out.String())
	}
	if !bytes.Contains(out.Bytes(), []byte("golive")) {
		t.Fatalf("the command saw nothing of its parents: %q", out.String())
	}
	if bytes.Contains(out.Bytes(), []byte(nonce)) {
		t.Errorf("the command could read the session's nonce:\n%s", out.String())
	}
}
