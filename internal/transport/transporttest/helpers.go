package transporttest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golive-dev/golive/internal/transport"
)

// HangGuard is how long a Run may take before a test calls it hung.
const HangGuard = 30 * time.Second

type runOutcome struct {
	res transport.Result
	err error
}

// RunGuarded runs c on conn and fails the test if Run has not returned
// within HangGuard.
func RunGuarded(t *testing.T, ctx context.Context, conn transport.Conn, c transport.Command) (transport.Result, error) {
	t.Helper()
	done := make(chan runOutcome, 1)
	go func() {
		res, err := conn.Run(ctx, c)
		done <- runOutcome{res, err}
	}()
	select {
	case o := <-done:
		return o.res, o.err
	case <-time.After(HangGuard):
		t.Fatalf("Run did not return within %v", HangGuard)
		return transport.Result{}, nil
	}
}

// LineWriter is a goroutine-safe buffer that tells when the first complete
// line has been written. Make it with NewLineWriter.
type LineWriter struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	once  sync.Once
	ready chan struct{}
}

// NewLineWriter returns an empty LineWriter.
func NewLineWriter() *LineWriter { return &LineWriter{ready: make(chan struct{})} }

func (w *LineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if bytes.IndexByte(w.buf.Bytes(), '\n') >= 0 {
		w.once.Do(func() { close(w.ready) })
	}
	return len(p), nil
}

// String returns what has been written so far.
func (w *LineWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// Ready is closed when the first complete line has been written.
func (w *LineWriter) Ready() <-chan struct{} { return w.ready }

// WaitReady waits for the first line, failing the test after HangGuard.
func (w *LineWriter) WaitReady(t *testing.T) {
	t.Helper()
	select {
	case <-w.ready:
	case <-time.After(HangGuard):
		t.Fatalf("no output within %v", HangGuard)
	}
}

// Source writes content to a new file and returns its path and SHA-256.
func Source(t *testing.T, content string) (path, sum string) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "src")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256([]byte(content))
	return p, hex.EncodeToString(s[:])
}

// LargeSource writes a size-byte file that is mostly a hole with some
// random blocks, and returns its path and SHA-256.
func LargeSource(t *testing.T, size int64) (path, sum string) {
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

// AssertNoTemp fails the test when a temporary upload file was left in dir.
func AssertNoTemp(t *testing.T, dir string) {
	t.Helper()
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".golive-") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
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

// pids parses the first line of out as decimal process ids.
func pids(t *testing.T, out string) []int {
	t.Helper()
	line, _, _ := strings.Cut(out, "\n")
	var ps []int
	for _, f := range strings.Fields(line) {
		p, err := strconv.Atoi(f)
		if err != nil {
			t.Fatalf("output %q: first line is not pids", out)
		}
		ps = append(ps, p)
	}
	if len(ps) == 0 {
		t.Fatalf("output %q: no pids", out)
	}
	return ps
}

// processGone reports whether pid has exited: no /proc entry, or a zombie
// (exited, waiting for its new parent to reap it).
func processGone(t *testing.T, pid int) bool {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if os.IsNotExist(err) {
		return true
	}
	if err != nil {
		t.Fatalf("read status of %d: %v", pid, err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if state, ok := strings.CutPrefix(line, "State:"); ok {
			state = strings.TrimSpace(state)
			return strings.HasPrefix(state, "Z") || strings.HasPrefix(state, "X")
		}
	}
	t.Fatalf("status of %d has no State line", pid)
	return false
}

func requireProc(t *testing.T) {
	t.Helper()
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("needs /proc")
	}
}

// assertGone fails the test for every pid still running, and kills it so
// that a failing test leaves nothing behind.
func assertGone(t *testing.T, ps []int) {
	t.Helper()
	for _, p := range ps {
		if !processGone(t, p) {
			t.Errorf("process %d still running after Run returned", p)
			if proc, err := os.FindProcess(p); err == nil {
				proc.Kill()
			}
		}
	}
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
