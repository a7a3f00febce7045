package ssh_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/golive-dev/golive/internal/transport"
	sshtr "github.com/golive-dev/golive/internal/transport/ssh"
	"github.com/golive-dev/golive/internal/transport/transporttest"
)

// noShaPath is a PATH holding the tools the transport needs but neither
// sha256sum nor shasum.
func noShaPath(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, tool := range []string{"mkdir", "mv", "sleep", "tr", "ps", "cat"} {
		p, err := exec.LookPath(tool)
		if err != nil {
			t.Skipf("no %s: %v", tool, err)
		}
		if err := os.Symlink(p, filepath.Join(dir, tool)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// An upload interrupted by its context leaves neither the destination nor
// a temporary file behind.
func TestUploadCanceledMidway(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ts := f.server(serverOpts{setsid: true})
	h := f.host(ts)
	conn := dial(t, &sshtr.Transport{}, h)
	src, sum := transporttest.LargeSource(t, 64<<20)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := conn.Upload(ctx, transport.Upload{Src: src, SHA256: sum, To: "big"})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Upload = %v, want context.DeadlineExceeded", err)
	}
	if _, err := os.Stat(filepath.Join(h.Dir, "big")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("destination exists after a cancelled upload: %v", err)
	}
	transporttest.AssertNoTemp(t, h.Dir)
}

// A destination that already has the content is skipped without the
// source being sent, even a large one, in one exec session (no SFTP).
func TestUploadExecSkipSendsNothing(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	h := f.host(f.server(serverOpts{setsid: true, noSFTP: true}))
	conn := dial(t, &sshtr.Transport{}, h)
	src, sum := transporttest.LargeSource(t, 16<<20)
	ctx := context.Background()
	if res, err := conn.Upload(ctx, transport.Upload{Src: src, SHA256: sum, To: "big"}); err != nil || res.Skipped {
		t.Fatalf("first Upload = %+v, %v", res, err)
	}
	start := time.Now()
	res, err := conn.Upload(ctx, transport.Upload{Src: src, SHA256: sum, To: "big", Mode: 0o600})
	if err != nil || !res.Skipped || res.Bytes != 0 {
		t.Fatalf("second Upload = %+v, %v; want skipped", res, err)
	}
	t.Logf("skip took %v", time.Since(start))
	fi, err := os.Stat(filepath.Join(h.Dir, "big"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("destination: %v, %v; want mode 0600", fi, err)
	}
	transporttest.AssertNoTemp(t, h.Dir)
}

// A symbolic link at the destination is left to SFTP, which replaces the
// link itself (not the directory it points to).
func TestUploadOverSymlink(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	h := f.host(f.server(serverOpts{setsid: true}))
	conn := dial(t, &sshtr.Transport{}, h)
	src, sum := transporttest.Source(t, "content\n")
	target := t.TempDir()
	if err := os.MkdirAll(h.Dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, filepath.Join(h.Dir, "link")); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Upload(context.Background(), transport.Upload{Src: src, SHA256: sum, To: "link"}); err != nil {
		t.Fatalf("Upload: %v", err)
	}
	fi, err := os.Lstat(filepath.Join(h.Dir, "link"))
	if err != nil || !fi.Mode().IsRegular() {
		t.Errorf("link after upload: %v, %v; want a regular file", fi, err)
	}
	if ents, _ := os.ReadDir(target); len(ents) != 0 {
		t.Errorf("upload wrote into the link's target: %v", ents)
	}
}

// The exec upload sends nothing before its script asks for the file: a
// mkdir that runs before the script reads (and reads what is already on
// its input) finds nothing there, and the upload arrives whole.
func TestUploadExecSendsOnlyWhenAsked(t *testing.T) {
	t.Parallel()
	mkdir, err := exec.LookPath("mkdir")
	if err != nil {
		t.Skip(err)
	}
	for _, tool := range []string{"timeout", "head"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skip(err)
		}
	}
	dir := t.TempDir()
	early := filepath.Join(dir, "early")
	wrapper := "#!/bin/sh\nsleep 0.2\nn=$(timeout 0.5 head -c 1 2>/dev/null | wc -c)\nif [ \"$n\" -gt 0 ]; then : >" + early + "; fi\nexec " + mkdir + " \"$@\"\n"
	if err := os.WriteFile(filepath.Join(dir, "mkdir"), []byte(wrapper), 0o755); err != nil {
		t.Fatal(err)
	}
	f := newFixture(t)
	h := f.host(f.server(serverOpts{setsid: true, noSFTP: true, path: dir + ":" + os.Getenv("PATH")}))
	if err := os.MkdirAll(h.Dir, 0o755); err != nil {
		t.Fatal(err)
	}
	conn := dial(t, &sshtr.Transport{}, h)
	src, sum := transporttest.LargeSource(t, 1<<20)
	res, err := conn.Upload(context.Background(), transport.Upload{Src: src, SHA256: sum, To: "sub/big"})
	if _, statErr := os.Stat(early); statErr == nil {
		t.Errorf("the file was on the script's input before it asked for it")
	}
	want, _ := os.ReadFile(src)
	if err != nil || res.Bytes != int64(len(want)) {
		t.Fatalf("Upload = %+v, %v; want %d bytes", res, err, len(want))
	}
	if got, err := os.ReadFile(filepath.Join(h.Dir, "sub", "big")); err != nil || string(got) != string(want) {
		t.Errorf("destination differs from the source (%v)", err)
	}
}
