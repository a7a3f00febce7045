package transporttest

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/golive-dev/golive/internal/transport"
)

// Fresh, skipped, mode-only and replacing uploads.
func testUpload(t *testing.T, h Harness) {
	conn, host := dial(t, h, shortGrace)
	ctx := context.Background()
	v1, sum1 := Source(t, "release 1\n")
	v2, sum2 := Source(t, "release 2, longer\n")
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

	// Same content again (an uppercase sum, an absolute To): skipped, the
	// file is not replaced.
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
	AssertNoTemp(t, filepath.Dir(dst))
}

// Uploads that cannot be done fail without creating the destination or
// leaving a temporary file.
func testUploadRejected(t *testing.T, h Harness) {
	conn, host := dial(t, h, shortGrace)
	src, sum := Source(t, "content")
	_, otherSum := Source(t, "other content")
	if err := os.Mkdir(filepath.Join(host, "adir"), 0o755); err != nil {
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
		{"bad mode", context.Background(), transport.Upload{Src: src, SHA256: sum, To: "x", Mode: os.ModeSetuid | 0o755}, "bits other than permissions"},
		{"cancelled", cancelled, transport.Upload{Src: src, SHA256: sum, To: "x"}, "context canceled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := conn.Upload(tt.ctx, tt.u)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Upload = %+v, %v; want an error containing %q", res, err, tt.want)
			}
			if !strings.HasPrefix(err.Error(), h.ErrorPrefix+"upload ") {
				t.Errorf("error %q lacks the prefix %q naming host and destination", err, h.ErrorPrefix+"upload ")
			}
		})
	}
	if _, err := os.Stat(filepath.Join(host, "x")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a failed upload created the destination: %v", err)
	}
	AssertNoTemp(t, host)
}

// A large upload streams: the heap does not hold the file. Not parallel:
// it measures the process's heap.
func testUploadLargeStreams(t *testing.T, h Harness) {
	const size = 64 << 20
	limit := h.UploadHeapLimit
	if limit == 0 {
		limit = 32 << 20 // half the file
	}
	conn, host := dial(t, h, shortGrace)
	src, sum := LargeSource(t, size)

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	stop := peakHeap()
	res, err := conn.Upload(context.Background(), transport.Upload{Src: src, SHA256: sum, To: "big"})
	peak := stop()
	runtime.ReadMemStats(&after)
	if err != nil || res.Bytes != size {
		t.Fatalf("Upload = %+v, %v; want %d bytes", res, err, size)
	}
	growth := int64(max(peak, after.HeapInuse)) - int64(before.HeapInuse)
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("peak HeapInuse growth %d bytes, allocated %d bytes for a %d-byte upload", growth, alloc, size)
	if growth > limit {
		t.Errorf("HeapInuse grew by %d bytes for a %d-byte upload (limit %d)", growth, size, limit)
	}
	if h.UploadAllocLimit > 0 && int64(alloc) > h.UploadAllocLimit {
		t.Errorf("upload allocated %d bytes for a %d-byte file (limit %d)", alloc, size, h.UploadAllocLimit)
	}
	a, _ := os.ReadFile(src)
	b, _ := os.ReadFile(filepath.Join(host, "big"))
	if !bytes.Equal(a, b) {
		t.Error("uploaded file differs from the source")
	}
	AssertNoTemp(t, host)
}

// Destinations with characters special to sh are file names, never code,
// and a leading '-' is never an option; destinations with control
// characters are refused before anything is done.
func testUploadHostileNames(t *testing.T, h Harness) {
	conn, host := dial(t, h, shortGrace)
	ctx := context.Background()
	src, sum := Source(t, "payload\n")
	canary := filepath.Join(t.TempDir(), "canary")
	for _, name := range []string{
		`it's`, `a"b`, `$(touch ` + canary + `)`, "`touch " + canary + "`", `x; touch ` + canary + `; y`,
		`' ; touch ` + canary + ` ; '`, `"; touch ` + canary + `; "`, `-rf`, `--`, `-delete`, `(`, `!`, `*`, `a b`,
		`$HOME`, `${IFS}`, `~x`, `\`, `a|b&c`, `<x>`, `#c`,
	} {
		dst := filepath.Join(host, "d", name)
		res, err := conn.Upload(ctx, transport.Upload{Src: src, SHA256: sum, To: "d/" + name})
		if err != nil || res.Skipped {
			t.Errorf("upload to %q = %+v, %v", "d/"+name, res, err)
			continue
		}
		if got := readFile(t, dst); got != "payload\n" {
			t.Errorf("%q holds %q", dst, got)
		}
	}
	for _, name := range []string{"-rf", "-delete"} { // relative, leading '-'
		if _, err := conn.Upload(ctx, transport.Upload{Src: src, SHA256: sum, To: name}); err != nil {
			t.Errorf("upload to %q: %v", name, err)
		} else if readFile(t, filepath.Join(host, name)) != "payload\n" {
			t.Errorf("upload to %q did not land in the host directory", name)
		}
	}
	if _, err := os.Stat(canary); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a destination path ran a command (%s exists)", canary)
	}
	for _, name := range []string{"a\nb", "a\x00b", "a\rb", "a\x1b[2Jb", "a\x7fb", "a\xffb"} {
		_, err := conn.Upload(ctx, transport.Upload{Src: src, SHA256: sum, To: "bad/" + name})
		if err == nil || !strings.Contains(err.Error(), "upload.to") {
			t.Errorf("upload to %q = %v, want refused", name, err)
		}
	}
	if _, err := os.Stat(filepath.Join(host, "bad")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a refused upload created its directory: %v", err)
	}
	AssertNoTemp(t, filepath.Join(host, "d"))
}
