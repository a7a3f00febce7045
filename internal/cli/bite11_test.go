package cli

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// slowWriter takes a while for each write, like a terminal or pipe that
// is read slowly.
type slowWriter struct {
	mu    sync.Mutex
	lines []string
	delay time.Duration
}

func (w *slowWriter) Write(p []byte) (int, error) {
	time.Sleep(w.delay)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.lines = append(w.lines, string(p))
	return len(p), nil
}

func (w *slowWriter) got() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.lines...)
}

// TestProgressCloseWritesWhatIsQueued: Close returns only once what the
// display had queued is written (up to progressDrain), so the progress
// lines come before the outcome printed after it, none lost at exit
// (mutant progress.go:44 progressDrain 0).
func TestProgressCloseWritesWhatIsQueued(t *testing.T) {
	w := &slowWriter{delay: 20 * time.Millisecond}
	s := &progressSink{w: w, ops: make(chan func(), progressQueue), done: make(chan struct{})}
	for i := range 20 {
		s.printf("line %d\n", i)
	}
	s.Close()
	got := w.got()
	if len(got) != 20 {
		t.Fatalf("after Close %d of 20 queued lines were written: %q", len(got), got)
	}
	for i, l := range got {
		if l != fmt.Sprintf("line %d\n", i) {
			t.Fatalf("line %d is %q", i, l)
		}
	}
	s.printf("after close\n") // dropped, not written, no panic
	s.Close()
	if n := len(w.got()); n != 20 {
		t.Errorf("%d lines after a write past Close", n)
	}
}

// TestInterruptsStopWaitsForTheLastMessage: stop gives the last message
// (an interrupt's "stopping run ...") up to a second to be taken by the
// writer, rather than exiting with it still queued (mutant signals.go:91
// `len(in.msgs) > 0` -> `<= 0`, which also made every command wait a
// second at exit).
func TestInterruptsStopWaitsForTheLastMessage(t *testing.T) {
	var out strings.Builder
	in := &interrupts{w: &out, sigs: make(chan os.Signal, 1), msgs: make(chan string, 8), abandon: make(chan struct{})}
	in.ctx, in.cancel = context.WithCancelCause(context.Background())
	gate := make(chan struct{})
	written := make(chan struct{})
	go func() {
		<-gate
		for m := range in.msgs {
			out.WriteString(m)
			close(written)
		}
	}()
	in.msgs <- "golive: SIGTERM: stopping run r-1\n"
	time.AfterFunc(100*time.Millisecond, func() { close(gate) })
	start := time.Now()
	in.stop()
	if left := len(in.msgs); left != 0 && time.Since(start) < time.Second {
		t.Fatalf("stop returned after %v with %d message(s) still queued", time.Since(start), left)
	}
	<-written
	if out.String() != "golive: SIGTERM: stopping run r-1\n" {
		t.Errorf("wrote %q", out.String())
	}
}
