package ssh_test

import (
	"bytes"
	"context"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golive-dev/golive/internal/transport"
)

// hangGuard is how long a Run may take before a test calls it hung.
const hangGuard = 30 * time.Second

type runOutcome struct {
	res transport.Result
	err error
}

// runGuarded runs c and fails the test if Run has not returned within
// hangGuard.
func runGuarded(t *testing.T, ctx context.Context, conn transport.Conn, c transport.Command) (transport.Result, error) {
	t.Helper()
	done := make(chan runOutcome, 1)
	go func() {
		res, err := conn.Run(ctx, c)
		done <- runOutcome{res, err}
	}()
	select {
	case o := <-done:
		return o.res, o.err
	case <-time.After(hangGuard):
		t.Fatalf("Run did not return within %v", hangGuard)
		return transport.Result{}, nil
	}
}

// lineWriter is a goroutine-safe buffer that closes ready when the first
// complete line has been written.
type lineWriter struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	once  sync.Once
	ready chan struct{}
}

func newLineWriter() *lineWriter { return &lineWriter{ready: make(chan struct{})} }

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if bytes.IndexByte(w.buf.Bytes(), '\n') >= 0 {
		w.once.Do(func() { close(w.ready) })
	}
	return len(p), nil
}

func (w *lineWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// waitReady waits for the first line, failing the test after hangGuard.
func (w *lineWriter) waitReady(t *testing.T) {
	t.Helper()
	select {
	case <-w.ready:
	case <-time.After(hangGuard):
		t.Fatalf("no output within %v", hangGuard)
	}
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
