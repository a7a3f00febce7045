package engine_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/golive-dev/golive/internal/engine"
	"github.com/golive-dev/golive/internal/store"
	"github.com/golive-dev/golive/internal/transport"
)

// slowCloseTransport gives every connection sessions (transport.Sessioner)
// whose Close takes as long as a loaded target takes to answer, up to 20s,
// or until the connection is closed: closing an SSH session waits for the
// target, which on a controller with hundreds of hosts in flight took
// seconds (bench/README.md, "fourth round"). A target that slow cannot be
// had for real in a test; the commands themselves run for real (local).
type slowCloseTransport struct{ transport.Transport }

func (t slowCloseTransport) Dial(ctx context.Context, h transport.Host) (transport.Conn, error) {
	c, err := t.Transport.Dial(ctx, h)
	if err != nil {
		return nil, err
	}
	return &slowCloseConn{Conn: c, closed: make(chan struct{})}, nil
}

type slowCloseConn struct {
	transport.Conn
	once   sync.Once
	closed chan struct{}
}

func (c *slowCloseConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return c.Conn.Close()
}

func (c *slowCloseConn) Session(context.Context) (transport.Session, error) {
	return slowSession{c}, nil
}

type slowSession struct{ c *slowCloseConn }

func (s slowSession) Run(ctx context.Context, cmd transport.Command) (transport.Result, error) {
	return s.c.Conn.Run(ctx, cmd)
}

func (s slowSession) Close() error {
	select {
	case <-time.After(20 * time.Second):
	case <-s.c.closed:
	}
	return nil
}

// A failing host stops all work at once: its batch-mate's step and the
// prepare step of the next batch (running ahead) are terminated, however
// long the failed host's session takes to close. Batches h1 h2 | h3 h4;
// h1 fails once h2 and h3 and h4 are busy for 20s.
func TestFailureStopsBatchMateAndPreparedBatch(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 4, `stages:
  - name: web
    on: web
    strategy: {batch: 2, max_failed: 0}
    steps:
      - name: prep
        prepare: true
        run: |
          case "$GOLIVE_HOST" in
          h3|h4) echo $$ > pid; exec sleep 20 ;;
          esac
        backout: echo undo-prep >> log
      - name: go
        run: |
          case "$GOLIVE_HOST" in
          h1)
            i=0
            while { [ ! -s @ROOT@/h2/pid ] || [ ! -s @ROOT@/h3/pid ] || [ ! -s @ROOT@/h4/pid ]; } && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done
            echo "h1 is broken" >&2; exit 1 ;;
          h2) echo $$ > pid; exec sleep 20 ;;
          esac
        backout: echo undo-go >> log
`)
	start := time.Now()
	out := f.startWithin(f.engine(func(o *engine.Options) {
		o.Transports["local"] = slowCloseTransport{o.Transports["local"]}
	}), 60*time.Second)
	took := time.Since(start)
	f.wantState(out, store.StateBackedOut)
	if took > 12*time.Second {
		t.Fatalf("the run took %s: the 20s sleeps were not terminated when h1 failed", took)
	}
	for _, h := range []string{"h2", "h3", "h4"} {
		waitGone(t, readPID(t, filepath.Join(f.hostDir(h), "pid")), 5*time.Second)
	}
	evs := f.events(out.Run.ID)
	for _, w := range []match{
		{kind: store.KindStep, action: store.ActionTerminated, host: "h2", step: "go"},
		{kind: store.KindStep, action: store.ActionTerminated, host: "h3", step: "prep"},
		{kind: store.KindStep, action: store.ActionTerminated, host: "h4", step: "prep"},
		{kind: store.KindHost, action: store.ActionTerminated, host: "h2"},
	} {
		if n := count(evs, w); n != 1 {
			t.Errorf("%s %s %s %s events = %d, want 1", w.host, w.kind, w.step, w.action, n)
		}
	}
	if n := count(evs, match{kind: store.KindStep, action: store.ActionFinished, host: "h2", step: "go"}); n != 0 {
		t.Errorf("h2's step go finished, want it terminated")
	}
	// Every touched host is backed out: the failed and the terminated
	// steps too, newest first.
	equal(t, "h1 log", f.log("h1"), []string{"undo-go", "undo-prep"})
	equal(t, "h2 log", f.log("h2"), []string{"undo-go", "undo-prep"})
	equal(t, "h3 log", f.log("h3"), []string{"undo-prep"})
	equal(t, "h4 log", f.log("h4"), []string{"undo-prep"})
}
