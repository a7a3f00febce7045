package local_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golive-dev/golive/internal/transport"
	"github.com/golive-dev/golive/internal/transport/local"
)

// A timed-out script and the children it started in the background are all
// terminated, and Run reports the timeout.
func TestRunTimeoutTerminatesGroup(t *testing.T) {
	requireProc(t)
	t.Parallel()
	conn := dial(t, &local.Transport{Grace: 2 * time.Second}, t.TempDir())
	// Three pids: the shell and two background children; the shell then
	// waits, so the foreground is the shell itself.
	script := `sleep 300 & a=$!; sleep 300 & echo "$$ $a $!"; wait`
	out := newLineWriter()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	res, err := runGuarded(t, ctx, conn, transport.Command{Script: script, Stdout: out, Stderr: out})
	if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.DeadlineExceeded only", err)
	}
	if res.ExitCode != -1 {
		t.Errorf("ExitCode = %d, want -1", res.ExitCode)
	}
	ps := pids(t, out.String())
	if len(ps) != 3 {
		t.Fatalf("output %q: want 3 pids", out.String())
	}
	assertGone(t, ps)
}

// Processes that ignore SIGTERM are killed once the grace period is over.
func TestRunIgnoredTermGetsKill(t *testing.T) {
	requireProc(t)
	t.Parallel()
	conn := dial(t, &local.Transport{Grace: 300 * time.Millisecond}, t.TempDir())
	// The ignored TERM is inherited by the background child too.
	script := `trap "" TERM; sleep 300 & echo "$$ $!"; while :; do sleep 1; done`
	out := newLineWriter()
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-out.ready
		cancel()
	}()
	res, err := runGuarded(t, ctx, conn, transport.Command{Script: script, Stdout: out})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	if res.ExitCode != -1 {
		t.Errorf("ExitCode = %d, want -1", res.ExitCode)
	}
	assertGone(t, pids(t, out.String()))
}

// SIGTERM comes first: a script that handles it can clean up, and its
// last output is still delivered.
func TestRunTermBeforeKill(t *testing.T) {
	t.Parallel()
	conn := dial(t, &local.Transport{Grace: 20 * time.Second}, t.TempDir())
	script := `trap 'echo cleaned up; exit 7' TERM; echo ready; while :; do sleep 0.05; done`
	out := newLineWriter()
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-out.ready
		cancel()
	}()
	res, err := runGuarded(t, ctx, conn, transport.Command{Script: script, Stdout: out})
	if !errors.Is(err, context.Canceled) || res.ExitCode != -1 {
		t.Errorf("Run = %+v, %v; want -1, context.Canceled", res, err)
	}
	if got := out.String(); got != "ready\ncleaned up\n" {
		t.Errorf("output = %q, want the trap's output", got)
	}
}

func TestRunCancelVersusTimeout(t *testing.T) {
	t.Parallel()
	conn := dial(t, &local.Transport{Grace: time.Second}, t.TempDir())
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
			res, err := runGuarded(t, ctx, conn, transport.Command{Script: "sleep 300"})
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
func TestRunDoneContextStartsNothing(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	conn := dial(t, &local.Transport{}, dir)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res, err := conn.Run(ctx, transport.Command{Script: "touch started"})
	if !errors.Is(err, context.Canceled) || res.ExitCode != -1 {
		t.Errorf("Run = %+v, %v; want -1, context.Canceled", res, err)
	}
	if _, err := conn.Run(context.Background(), transport.Command{Script: "test ! -e started"}); err != nil {
		t.Fatal(err)
	}
}

func TestClosedConn(t *testing.T) {
	t.Parallel()
	conn, err := (&local.Transport{}).Dial(context.Background(), transport.Host{Name: "web-1", Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if err := conn.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := conn.Close(); !errors.Is(err, transport.ErrClosed) {
		t.Errorf("second Close = %v, want ErrClosed", err)
	}
	if _, err := conn.Run(context.Background(), transport.Command{Script: "true"}); !errors.Is(err, transport.ErrClosed) {
		t.Errorf("Run after Close = %v, want ErrClosed", err)
	}
	if _, err := conn.Upload(context.Background(), transport.Upload{}); !errors.Is(err, transport.ErrClosed) {
		t.Errorf("Upload after Close = %v, want ErrClosed", err)
	}
}

func BenchmarkRunTrue(b *testing.B) {
	conn := dial(b, &local.Transport{}, b.TempDir())
	ctx := context.Background()
	for b.Loop() {
		res, err := conn.Run(ctx, transport.Command{Script: "true"})
		if err != nil || res.ExitCode != 0 {
			b.Fatalf("Run = %+v, %v", res, err)
		}
	}
}
