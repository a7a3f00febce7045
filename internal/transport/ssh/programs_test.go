package ssh_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golive-dev/golive/internal/transport"
	sshtr "github.com/golive-dev/golive/internal/transport/ssh"
	"github.com/golive-dev/golive/internal/transport/transporttest"
)

// programLog puts wrappers for the named programs first in a PATH: each
// call appends the program's name to a log, then runs the real one (with
// extra, when given, first: a shell snippet). It returns the PATH and a
// function that reads the calls logged so far.
func programLog(t *testing.T, extra map[string]string, names ...string) (string, func() []string) {
	t.Helper()
	dir := t.TempDir()
	log := filepath.Join(dir, "calls.log")
	for _, name := range names {
		real, err := exec.LookPath(name)
		if err != nil {
			t.Skipf("no %s: %v", name, err)
		}
		script := "#!/bin/sh\necho " + name + " >>" + log + "\n" + extra[name] + "\nexec " + real + ` "$@"` + "\n"
		if err := os.WriteFile(filepath.Join(dir, name), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir + ":" + os.Getenv("PATH"), func() []string {
		b, err := os.ReadFile(log)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		return strings.Fields(string(b))
	}
}

// golive's own commands on a pipelined session (the directory set-up, an
// upload's hash check) run in the session's loop: no setsid(1) and no
// fresh shell for them, and no mkdir or dirname when the directory is
// there; a host's steps still get a process group of their own (setsid).
func TestOwnCommandsStartNoPrograms(t *testing.T) {
	t.Parallel()
	path, calls := programLog(t, nil, "setsid", "mkdir", "dirname", "sha256sum")
	f := newFixture(t)
	ts := f.server(serverOpts{setsid: true, path: path})
	h := f.host(ts)
	h.Dir = t.TempDir()
	ctx := context.Background()
	conn := dial(t, &sshtr.Transport{}, h)
	src, sum := transporttest.Source(t, "artifact\n")
	if res, err := conn.Upload(ctx, transport.Upload{Src: src, SHA256: sum, To: "app.tgz"}); err != nil || res.Bytes != 9 {
		t.Fatalf("Upload = %+v, %v", res, err)
	}
	if got := strings.Join(calls(), " "); got != "sha256sum" {
		t.Errorf("programs for the set-up and an upload: %q, want only the hash check's sha256sum", got)
	}
	s, ok, err := transport.OpenSession(ctx, conn)
	if err != nil || !ok {
		t.Fatalf("OpenSession = %v, %v", ok, err)
	}
	defer s.Close()
	for i := 0; i < 2; i++ {
		var out bytes.Buffer
		// A step leads a process group of its own; golive's own
		// commands ran in the loop's.
		res, err := s.Run(ctx, transport.Command{Script: `read -r _ _ _ _ g _ </proc/$$/stat; [ "$g" = $$ ] && [ -z "${golive_lead+set}" ] && cat app.tgz`, Stdout: &out})
		if err != nil || res.ExitCode != 0 || out.String() != "artifact\n" {
			t.Fatalf("step %d = %+v, %q, %v", i, res, out.String(), err)
		}
	}
	if got := strings.Join(calls(), " "); got != "sha256sum setsid setsid" {
		t.Errorf("programs after two steps: %q, want one setsid per step", got)
	}
	if n := ts.execs.Load(); n != 1 {
		t.Errorf("%d exec channels, want 1", n)
	}

	// A read-only dial of a directory that is not there finds its
	// nearest parent with shell builtins (no dirname).
	ro := h
	ro.ReadOnly = true
	ro.Dir = filepath.Join(h.Dir, "missing", "deeper") + "/"
	c2 := dial(t, &sshtr.Transport{ReuseIdle: time.Minute}, ro)
	var out bytes.Buffer
	if _, err := c2.Run(ctx, transport.Command{Script: "pwd", Stdout: &out}); err != nil || strings.TrimSpace(out.String()) != h.Dir {
		t.Fatalf("read-only Run in %q: pwd %q, %v; want %q", ro.Dir, out.String(), err, h.Dir)
	}
	if _, err := os.Stat(filepath.Join(h.Dir, "missing")); !os.IsNotExist(err) {
		t.Errorf("read-only dial created %s/missing: %v", h.Dir, err)
	}
	// A missing directory is still created, with mkdir.
	rw := h
	rw.Dir = filepath.Join(h.Dir, "new")
	dial(t, &sshtr.Transport{}, rw)
	if fi, err := os.Stat(rw.Dir); err != nil || !fi.IsDir() {
		t.Fatalf("dial did not create %s: %v", rw.Dir, err)
	}
	if got := strings.Join(calls(), " "); got != "sha256sum setsid setsid mkdir" {
		t.Errorf("programs after two more dials: %q, want one mkdir (for the missing directory)", got)
	}
}

// An own command that hangs (here the upload's hash check) is stopped
// when its context ends, without ending the session's loop: the session
// runs the next command.
func TestOwnCommandInterrupted(t *testing.T) {
	t.Parallel()
	path, calls := programLog(t, map[string]string{"sha256sum": "sleep 8"}, "sha256sum")
	f := newFixture(t)
	ts := f.server(serverOpts{setsid: true, path: path})
	h := f.host(ts)
	h.Dir = t.TempDir()
	var logs bytes.Buffer
	conn := dial(t, &sshtr.Transport{Grace: time.Second, Logger: slog.New(slog.NewTextHandler(&logs, nil))}, h)
	src, sum := transporttest.Source(t, "artifact\n")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	start := time.Now()
	_, err := conn.Upload(ctx, transport.Upload{Src: src, SHA256: sum, To: "app.tgz"})
	if err == nil || ctx.Err() == nil {
		t.Fatalf("Upload = %v, want it interrupted by its context", err)
	}
	if d := time.Since(start); d > 7*time.Second {
		t.Errorf("the interrupted upload returned after %v, not before its hash check's 8 s", d)
	}
	if len(calls()) != 1 {
		t.Fatalf("hash check not started: %q", calls())
	}
	if _, err := os.Stat(filepath.Join(h.Dir, "app.tgz")); !os.IsNotExist(err) {
		t.Errorf("interrupted upload installed its file: %v", err)
	}
	// Its subshell is in the loop's group on purpose: no warning about a
	// script that leads no group.
	if strings.Contains(logs.String(), "not a process group leader") {
		t.Errorf("warning logged for an own command: %s", logs.String())
	}
	ctx2, cancel2 := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel2()
	s, ok, err := transport.OpenSession(ctx2, conn)
	if err != nil || !ok {
		t.Fatalf("OpenSession = %v, %v", ok, err)
	}
	defer s.Close()
	var out bytes.Buffer
	if _, err := s.Run(ctx2, transport.Command{Script: "echo alive", Stdout: &out}); err != nil || out.String() != "alive\n" {
		t.Fatalf("Run after the interrupted hash check = %q, %v", out.String(), err)
	}
}

// An upload's script starts only the programs it needs: no mkdir when
// the parent directory is there, no chmod when the umask gives the file
// its mode as it is created, no head(1) probe before the one that reads
// the file; the modes still come out exact.
func TestUploadScriptsStartFewPrograms(t *testing.T) {
	t.Parallel()
	path, calls := programLog(t, nil, "mkdir", "chmod", "head")
	f := newFixture(t)
	ts := f.server(serverOpts{setsid: true, noSFTP: true, path: path})
	h := f.host(ts)
	h.Dir = t.TempDir()
	ctx := context.Background()
	conn := dial(t, &sshtr.Transport{}, h)
	src, sum := transporttest.Source(t, "artifact\n")
	// Without SFTP: one exec session (cat).
	if res, err := conn.Upload(ctx, transport.Upload{Src: src, SHA256: sum, To: "exec.tgz"}); err != nil || res.Bytes != 9 {
		t.Fatalf("exec Upload = %+v, %v", res, err)
	}
	if got := calls(); len(got) != 0 {
		t.Errorf("programs for an upload without SFTP: %q, want none of mkdir, chmod, head", got)
	}
	s, ok, err := transport.OpenSession(ctx, conn)
	if err != nil || !ok {
		t.Fatalf("OpenSession = %v, %v", ok, err)
	}
	defer s.Close()
	su := s.(transport.SessionUploader)
	if res, err := su.Upload(ctx, transport.Upload{Src: src, SHA256: sum, To: "pipe.tgz", Mode: 0o640}); err != nil || res.Bytes != 9 {
		t.Fatalf("session Upload = %+v, %v", res, err)
	}
	if got := strings.Join(calls(), " "); got != "head" {
		t.Errorf("programs for an upload over the session: %q, want one head", got)
	}
	// A mode the umask cannot give (execute bits) takes chmod; a missing
	// parent takes mkdir.
	if res, err := su.Upload(ctx, transport.Upload{Src: src, SHA256: sum, To: "bin/tool", Mode: 0o755}); err != nil || res.Bytes != 9 {
		t.Fatalf("session Upload = %+v, %v", res, err)
	}
	if got := strings.Join(calls(), " "); got != "head mkdir head chmod" {
		t.Errorf("programs after an upload into a new directory with mode 0755: %q", got)
	}
	for name, want := range map[string]os.FileMode{"exec.tgz": transport.DefaultUploadMode, "pipe.tgz": 0o640, "bin/tool": 0o755} {
		fi, err := os.Stat(filepath.Join(h.Dir, name))
		if err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, %v; want %v", name, fi.Mode().Perm(), err, want)
		}
	}
}

// The controller does not hash an upload's bytes on the way (CPU the
// controller shares with the hosts on a small machine): the target's
// check of the temporary file is what keeps a source that changed after
// its verification from being installed, and only then is the source
// hashed again, to say so. Nothing is left behind.
func TestSourceChangedCaughtOnTheTarget(t *testing.T) {
	t.Parallel()
	path, calls := programLog(t, nil, "sha256sum")
	f := newFixture(t)
	ts := f.server(serverOpts{setsid: true, path: path})
	h := f.host(ts)
	h.Dir = t.TempDir()
	conn := dial(t, &sshtr.Transport{}, h)
	src, _ := transporttest.Source(t, "artifact\n")
	_, verified := transporttest.Source(t, "what was verified\n")
	_, err := conn.Upload(context.Background(), transport.Upload{Src: src, SHA256: verified, To: "app.tgz"})
	if err == nil || !strings.Contains(err.Error(), "changed after verification") {
		t.Fatalf("Upload of a changed source = %v, want an error saying it changed", err)
	}
	if got := strings.Join(calls(), " "); got != "sha256sum" {
		t.Errorf("programs: %q, want the target's hash check (sha256sum) to have caught it", got)
	}
	entries, err := os.ReadDir(h.Dir)
	if err != nil || len(entries) != 0 {
		t.Errorf("left in %s: %v, %v", h.Dir, entries, err)
	}
}

// The target hashes a file of 1 MiB or more with openssl when it has it
// (cheaper there than sha256sum), a smaller one with sha256sum, and falls
// back to sha256sum when openssl fails or prints something else; a
// destination of another size than the source is not hashed at all.
func TestUploadHashTool(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("no openssl")
	}
	ctx := context.Background()
	big := strings.Repeat("0123456789abcdef", 1<<16) // 1 MiB
	for _, tc := range []struct {
		name, content, opensslExtra, want string
	}{
		{"big", big, "", "openssl"},
		{"small", "artifact\n", "", "sha256sum"},
		{"openssl fails", big, "exit 1", "openssl sha256sum"},
		{"openssl prints another format", big, `echo "SHA2-256(stdin)= ` + strings.Repeat("0", 64) + `"; exit 0`, "openssl sha256sum"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path, calls := programLog(t, map[string]string{"openssl": tc.opensslExtra}, "openssl", "sha256sum")
			f := newFixture(t)
			ts := f.server(serverOpts{setsid: true, path: path})
			h := f.host(ts)
			h.Dir = t.TempDir()
			conn := dial(t, &sshtr.Transport{}, h)
			src, sum := transporttest.Source(t, tc.content)
			if res, err := conn.Upload(ctx, transport.Upload{Src: src, SHA256: sum, To: "app.tgz"}); err != nil || res.Bytes != int64(len(tc.content)) {
				t.Fatalf("Upload = %+v, %v", res, err)
			}
			if got := strings.Join(calls(), " "); got != tc.want {
				t.Errorf("hash check ran %q, want %q", got, tc.want)
			}
		})
	}
	t.Run("other size", func(t *testing.T) {
		path, calls := programLog(t, nil, "openssl", "sha256sum")
		f := newFixture(t)
		ts := f.server(serverOpts{setsid: true, path: path})
		h := f.host(ts)
		h.Dir = t.TempDir()
		if err := os.WriteFile(filepath.Join(h.Dir, "app.tgz"), []byte("an older, longer release\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		conn := dial(t, &sshtr.Transport{}, h)
		src, sum := transporttest.Source(t, "artifact\n")
		if res, err := conn.Upload(ctx, transport.Upload{Src: src, SHA256: sum, To: "app.tgz"}); err != nil || res.Bytes != 9 {
			t.Fatalf("Upload = %+v, %v", res, err)
		}
		if got := strings.Join(calls(), " "); got != "sha256sum" {
			t.Errorf("hash programs: %q, want only the new file's check (the old one has another size)", got)
		}
		if b, err := os.ReadFile(filepath.Join(h.Dir, "app.tgz")); err != nil || string(b) != "artifact\n" {
			t.Errorf("destination %q, %v", b, err)
		}
	})
}
