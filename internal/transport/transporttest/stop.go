package transporttest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golive-dev/golive/internal/transport"
)

// A timed-out or cancelled script and the children it started in the
// background are all terminated, and Run reports which of the two it was.
func testInterruptKillsGroup(t *testing.T, h Harness) {
	requireProc(t)
	// Three pids: the shell and two background children; the shell then
	// waits, so the foreground is the shell itself.
	const script = `sleep 300 & a=$!; sleep 300 & echo "$$ $a $!"; wait`
	// interrupted checks a Run that ctx interrupted and returns the pids
	// the script printed, if it printed them in time.
	interrupted := func(t *testing.T, conn transport.Conn, ctx context.Context, out *LineWriter, want, wantNot error) []int {
		t.Helper()
		res, err := RunGuarded(t, ctx, conn, transport.Command{Script: script, Stdout: out, Stderr: out})
		if !errors.Is(err, want) || errors.Is(err, wantNot) {
			t.Errorf("err = %v, want %v only", err, want)
		}
		if res.ExitCode != -1 {
			t.Errorf("ExitCode = %d, want -1", res.ExitCode)
		}
		if !strings.Contains(out.String(), "\n") {
			return nil
		}
		ps := pids(t, out.String())
		if len(ps) != 3 {
			t.Fatalf("output %q: want 3 pids", out.String())
		}
		return ps
	}
	t.Run("timeout", func(t *testing.T) {
		t.Parallel()
		conn, _ := dial(t, h, 2*time.Second)
		// The script must print its pids before the deadline: a slow
		// machine gets a longer timeout.
		for _, timeout := range []time.Duration{300 * time.Millisecond, time.Second, 5 * time.Second} {
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			ps := interrupted(t, conn, ctx, NewLineWriter(), context.DeadlineExceeded, context.Canceled)
			cancel()
			if ps != nil {
				assertGone(t, ps)
				return
			}
			t.Logf("no pids within %v; trying a longer timeout", timeout)
		}
		t.Fatal("the script never printed its pids before the deadline")
	})
	t.Run("cancel", func(t *testing.T) {
		t.Parallel()
		conn, _ := dial(t, h, 2*time.Second)
		out := NewLineWriter()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go func() {
			<-out.Ready()
			cancel()
		}()
		ps := interrupted(t, conn, ctx, out, context.Canceled, context.DeadlineExceeded)
		if ps == nil {
			t.Fatalf("output %q: no pids", out.String())
		}
		assertGone(t, ps)
	})
}

// Processes that ignore SIGTERM are killed once the grace period is over.
func testIgnoredTermGetsKill(t *testing.T, h Harness) {
	requireProc(t)
	conn, _ := dial(t, h, shortGrace)
	// The ignored TERM is inherited by the background child too.
	script := `trap "" TERM; sleep 300 & echo "$$ $!"; while :; do sleep 1; done`
	out := NewLineWriter()
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	errAbort := errors.New("operator aborted")
	go func() {
		<-out.Ready()
		cancel(errAbort)
	}()
	start := time.Now()
	res, err := RunGuarded(t, ctx, conn, transport.Command{Script: script, Stdout: out})
	if !errors.Is(err, context.Canceled) || !errors.Is(err, errAbort) || res.ExitCode != -1 {
		t.Errorf("Run = %+v, %v; want -1, context.Canceled wrapping the cause", res, err)
	}
	if err != nil && !strings.HasPrefix(err.Error(), h.ErrorPrefix+"run: ") {
		t.Errorf("err = %q, want the prefix %q", err, h.ErrorPrefix+"run: ")
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Run took %v", d)
	}
	assertGone(t, pids(t, out.String()))
}

// SIGTERM comes first: a script that handles it can clean up, and its last
// output is still delivered. Run returns when the group has exited, not
// when the grace period is over.
func testTermBeforeKill(t *testing.T, h Harness) {
	conn, _ := dial(t, h, longGrace)
	script := `trap 'echo cleaned up; exit 7' TERM; echo ready; while :; do sleep 0.05; done`
	out := NewLineWriter()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-out.Ready()
		cancel()
	}()
	start := time.Now()
	res, err := RunGuarded(t, ctx, conn, transport.Command{Script: script, Stdout: out})
	if !errors.Is(err, context.Canceled) || res.ExitCode != -1 {
		t.Errorf("Run = %+v, %v; want -1, context.Canceled", res, err)
	}
	if got := out.String(); got != "ready\ncleaned up\n" {
		t.Errorf("output = %q, want the trap's output", got)
	}
	if d := time.Since(start); d > longGrace/2 {
		t.Errorf("Run took %v: it waited for the grace period although the group had exited", d)
	}
}

// The error of an interrupted Run wraps context.Canceled or
// context.DeadlineExceeded, never both, and the context's cause.
func testCancelVersusTimeout(t *testing.T, h Harness) {
	conn, _ := dial(t, h, time.Second)
	errAbort := errors.New("operator aborted")
	errWindow := errors.New("release window closed")
	tests := []struct {
		name     string
		ctx      func() (context.Context, func())
		want     []error
		wantNot  error
		inString string
	}{
		{"cancel", func() (context.Context, func()) {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(100*time.Millisecond, cancel)
			return ctx, cancel
		}, []error{context.Canceled}, context.DeadlineExceeded, "context canceled"},
		{"cancel with cause", func() (context.Context, func()) {
			ctx, cancel := context.WithCancelCause(context.Background())
			time.AfterFunc(100*time.Millisecond, func() { cancel(errAbort) })
			return ctx, func() { cancel(nil) }
		}, []error{context.Canceled, errAbort}, context.DeadlineExceeded, "operator aborted"},
		{"timeout", func() (context.Context, func()) {
			return context.WithTimeout(context.Background(), 100*time.Millisecond)
		}, []error{context.DeadlineExceeded}, context.Canceled, "deadline exceeded"},
		{"timeout with cause", func() (context.Context, func()) {
			return context.WithTimeoutCause(context.Background(), 100*time.Millisecond, errWindow)
		}, []error{context.DeadlineExceeded, errWindow}, context.Canceled, "release window closed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := tt.ctx()
			defer cancel()
			res, err := RunGuarded(t, ctx, conn, transport.Command{Script: "sleep 300"})
			for _, want := range tt.want {
				if !errors.Is(err, want) {
					t.Errorf("err = %v, want it to wrap %v", err, want)
				}
			}
			if errors.Is(err, tt.wantNot) {
				t.Errorf("err = %v, must not wrap %v", err, tt.wantNot)
			}
			if err != nil && !strings.Contains(err.Error(), tt.inString) {
				t.Errorf("err = %q, want it to mention %q", err, tt.inString)
			}
			if res.ExitCode != -1 {
				t.Errorf("ExitCode = %d, want -1", res.ExitCode)
			}
		})
	}
}

// A context that is already done starts nothing.
func testDoneContextStartsNothing(t *testing.T, h Harness) {
	conn, _ := dial(t, h, shortGrace)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res, err := conn.Run(ctx, transport.Command{Script: "touch started"})
	if !errors.Is(err, context.Canceled) || res.ExitCode != -1 {
		t.Errorf("Run = %+v, %v; want -1, context.Canceled", res, err)
	}
	res, err = RunGuarded(t, context.Background(), conn, transport.Command{Script: "test ! -e started"})
	if err != nil || res.ExitCode != 0 {
		t.Errorf("the script ran although its context was done: Run = %+v, %v", res, err)
	}
}
