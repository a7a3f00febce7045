package ssh_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golive-dev/golive/internal/transport"
	sshtr "github.com/golive-dev/golive/internal/transport/ssh"
)

// source writes content to a new file and returns its path and SHA-256.
func source(t *testing.T, content string) (string, string) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "src")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(content))
	return p, hex.EncodeToString(sum[:])
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func perm(t *testing.T, p string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

// assertNoTemp fails when a temporary upload file was left in dir.
func assertNoTemp(t *testing.T, dir string) {
	t.Helper()
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".golive-") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
}

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

func TestUpload(t *testing.T) {
	for _, tt := range []struct {
		name string
		opts func(t *testing.T) serverOpts
	}{
		{"sha256sum on target", func(*testing.T) serverOpts { return serverOpts{} }},
		{"read back over sftp", func(t *testing.T) serverOpts { return serverOpts{setsid: true, path: noShaPath(t)} }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			ts := f.server(tt.opts(t))
			h := f.host(ts)
			testUpload(t, dial(t, &sshtr.Transport{}, h), h.Dir)
		})
	}
}

func testUpload(t *testing.T, conn transport.Conn, host string) {
	ctx := context.Background()
	v1, sum1 := source(t, "release 1\n")
	v2, sum2 := source(t, "release 2, longer\n")
	dst := filepath.Join(host, "releases", "deep", "app.tar.gz")

	// Fresh, into directories that do not exist yet, with a relative To.
	res, err := conn.Upload(ctx, transport.Upload{Src: v1, SHA256: sum1, To: "releases/deep/app.tar.gz"})
	if err != nil {
		t.Fatalf("fresh upload: %v", err)
	}
	if res.Skipped || res.Bytes != int64(len("release 1\n")) {
		t.Errorf("fresh upload = %+v, want %d bytes copied", res, len("release 1\n"))
	}
	if readFile(t, dst) != "release 1\n" || perm(t, dst) != transport.DefaultUploadMode {
		t.Errorf("destination %q mode %v", readFile(t, dst), perm(t, dst))
	}
	before, _ := os.Stat(dst)

	// Same content again: skipped, the file is not replaced.
	res, err = conn.Upload(ctx, transport.Upload{Src: v1, SHA256: strings.ToUpper(sum1), To: dst})
	if err != nil || !res.Skipped || res.Bytes != 0 {
		t.Errorf("same upload = %+v, %v; want skipped", res, err)
	}
	if after, _ := os.Stat(dst); !os.SameFile(before, after) {
		t.Error("skipped upload replaced the file")
	}

	// Same content, other mode: skipped, mode applied.
	res, err = conn.Upload(ctx, transport.Upload{Src: v1, SHA256: sum1, To: dst, Mode: 0o600})
	if err != nil || !res.Skipped || perm(t, dst) != 0o600 {
		t.Errorf("same upload with mode 0600 = %+v, %v, mode %v", res, err, perm(t, dst))
	}

	// Different content: replaced, with the requested mode (no umask).
	res, err = conn.Upload(ctx, transport.Upload{Src: v2, SHA256: sum2, To: dst, Mode: 0o775})
	if err != nil || res.Skipped || res.Bytes != int64(len("release 2, longer\n")) {
		t.Errorf("replacing upload = %+v, %v", res, err)
	}
	if readFile(t, dst) != "release 2, longer\n" || perm(t, dst) != 0o775 {
		t.Errorf("destination %q mode %v, want release 2 with 0775", readFile(t, dst), perm(t, dst))
	}
	assertNoTemp(t, filepath.Dir(dst))
}

func TestUploadRejected(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ts := f.server(serverOpts{})
	h := f.host(ts)
	conn := dial(t, &sshtr.Transport{}, h)
	src, sum := source(t, "content")
	_, otherSum := source(t, "other content")
	if err := os.Mkdir(filepath.Join(h.Dir, "adir"), 0o755); err != nil {
		t.Fatal(err)
	}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name string
		ctx  context.Context
		u    transport.Upload
		want string
	}{
		{"source changed", context.Background(), transport.Upload{Src: src, SHA256: otherSum, To: "x"}, "changed after verification"},
		{"missing source", context.Background(), transport.Upload{Src: src + ".missing", SHA256: sum, To: "x"}, "open source"},
		{"destination is a directory", context.Background(), transport.Upload{Src: src, SHA256: sum, To: "adir"}, "is a directory"},
		{"bad sha256", context.Background(), transport.Upload{Src: src, SHA256: "abc", To: "x"}, "not 64 hex digits"},
		{"cancelled", cancelled, transport.Upload{Src: src, SHA256: sum, To: "x"}, "context canceled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := conn.Upload(tt.ctx, tt.u)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Upload = %+v, %v; want an error containing %q", res, err, tt.want)
			}
			if !strings.HasPrefix(err.Error(), "ssh web-1: upload ") {
				t.Errorf("error %q lacks the prefix naming host and destination", err)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(h.Dir, "x")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a failed upload created the destination: %v", err)
	}
	assertNoTemp(t, h.Dir)
}

// bigSource writes a size-byte file that is mostly a hole with some random
// blocks, and returns its path and SHA-256.
func bigSource(t *testing.T, size int64) (string, string) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "big")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	block := make([]byte, 1<<20)
	for off := int64(0); off < size; off += size / 8 {
		rand.Read(block)
		if _, err := f.WriteAt(block, off); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return p, hex.EncodeToString(h.Sum(nil))
}

// peakHeap samples HeapInuse until stop is called and returns the highest
// value seen.
func peakHeap() (stop func() uint64) {
	var mu sync.Mutex
	var peak uint64
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			mu.Lock()
			peak = max(peak, ms.HeapInuse)
			mu.Unlock()
			select {
			case <-done:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	return func() uint64 {
		close(done)
		<-finished
		mu.Lock()
		defer mu.Unlock()
		return peak
	}
}

// Not parallel: it measures the process's heap, which holds the client and
// the in-process server.
func TestUploadLargeStreams(t *testing.T) {
	const size = 64 << 20
	const limit = 32 << 20 // half the file: the heap must not hold it
	f := newFixture(t)
	ts := f.server(serverOpts{setsid: true})
	h := f.host(ts)
	conn := dial(t, &sshtr.Transport{}, h)
	src, sum := bigSource(t, size)

	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	stop := peakHeap()
	res, err := conn.Upload(context.Background(), transport.Upload{Src: src, SHA256: sum, To: "big"})
	peak := stop()
	if err != nil || res.Bytes != size {
		t.Fatalf("Upload = %+v, %v; want %d bytes", res, err, size)
	}
	growth := int64(peak) - int64(before.HeapInuse)
	t.Logf("peak HeapInuse growth %d bytes for a %d-byte upload", growth, size)
	if growth > limit {
		t.Errorf("HeapInuse grew by %d bytes for a %d-byte upload", growth, size)
	}
	a, _ := os.ReadFile(src)
	b, _ := os.ReadFile(filepath.Join(h.Dir, "big"))
	if !bytes.Equal(a, b) {
		t.Error("uploaded file differs from the source")
	}
}

// An upload interrupted by its context leaves neither the destination nor
// a temporary file behind.
func TestUploadCanceledMidway(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ts := f.server(serverOpts{setsid: true})
	h := f.host(ts)
	conn := dial(t, &sshtr.Transport{}, h)
	src, sum := bigSource(t, 64<<20)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := conn.Upload(ctx, transport.Upload{Src: src, SHA256: sum, To: "big"})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Upload = %v, want context.DeadlineExceeded", err)
	}
	if _, err := os.Stat(filepath.Join(h.Dir, "big")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("destination exists after a cancelled upload: %v", err)
	}
	assertNoTemp(t, h.Dir)
}
