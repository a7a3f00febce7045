package engine_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golive-dev/golive/internal/engine"
	"github.com/golive-dev/golive/internal/store"
)

const sleepingStep = `stages:
  - name: web
    on: web
    steps:
      - {name: a, run: echo a >> log, backout: echo undo-a >> log}
      - name: sleep
        backout: echo undo-sleep >> log
        run: |
          echo $$ > sh.pid
          echo sleep >> log
          sleep 30
`

// startAsync starts the fixture's rollout in the background; the run is
// sent on created when the engine creates it, the outcome on done.
func startAsync(t *testing.T, f *fixture, e *engine.Engine, lockWait time.Duration) (created <-chan store.Run, done <-chan *engine.Outcome) {
	c := make(chan store.Run, 1)
	d := make(chan *engine.Outcome, 1)
	go func() {
		out, err := e.Start(context.Background(), engine.Request{Rollout: f.ro, Requester: "tester", LockWait: lockWait,
			Created: func(r store.Run) { c <- r }})
		if err != nil {
			t.Errorf("Start: %v", err)
		}
		d <- out
	}()
	return c, d
}

// created waits for the run startAsync creates.
func created(t *testing.T, c <-chan store.Run) store.Run {
	t.Helper()
	select {
	case r := <-c:
		return r
	case <-time.After(5 * time.Second):
		t.Fatal("run not created")
	}
	return store.Run{}
}

// abortSleepingRun starts a run, waits until its second step sleeps and
// asks for an abort through a second store handle, as another process
// would.
func abortSleepingRun(t *testing.T, noBackout bool) (*fixture, *engine.Outcome) {
	f := newFixture(t, 1, sleepingStep)
	c, done := startAsync(t, f, f.engine(func(o *engine.Options) { o.PollEvery = 50 * time.Millisecond }), 0)
	run := created(t, c)
	waitFile(t, filepath.Join(f.hostDir("h1"), "sh.pid"), 5*time.Second)
	other := f.openStore()
	asked := time.Now()
	if err := engine.RequestAbort(context.Background(), other, run.ID, "bob", "looks wrong", noBackout); err != nil {
		t.Fatal(err)
	}
	select {
	case out := <-done:
		if took := time.Since(asked); took > 3*time.Second {
			t.Errorf("abort took %s", took)
		}
		waitGone(t, readPID(t, filepath.Join(f.hostDir("h1"), "sh.pid")), 2*time.Second)
		return f, out
	case <-time.After(10 * time.Second):
		t.Fatal("run did not stop after the abort")
	}
	return nil, nil
}

func TestAbortFromAnotherProcessBacksOut(t *testing.T) {
	t.Parallel()
	f, out := abortSleepingRun(t, false)
	f.wantState(out, store.StateBackedOut)
	if !strings.Contains(out.Run.Reason, "aborted by bob") {
		t.Errorf("reason = %q", out.Run.Reason)
	}
	equal(t, "log", f.log("h1"), []string{"a", "sleep", "undo-sleep", "undo-a"})
	evs := f.events(out.Run.ID)
	if count(evs, match{kind: store.KindStep, action: store.ActionTerminated, step: "sleep"}) != 1 {
		t.Error("journal: sleeping step not terminated")
	}
	if a := filter(evs, match{kind: store.KindRun, action: engine.ActionAbortRequested}); len(a) != 1 || a[0].Actor != "bob" {
		t.Errorf("abort events = %+v", a)
	}
	wantNoLock(t, f)
}

func TestAbortNoBackout(t *testing.T) {
	t.Parallel()
	f, out := abortSleepingRun(t, true)
	// Stopped without backout, the run waits like backout.automatic: false:
	// failed, still holding the lock, for golive backout or resume --accept.
	f.wantState(out, store.StateFailed)
	if !strings.Contains(out.Run.Reason, "(no backout)") {
		t.Errorf("reason = %q", out.Run.Reason)
	}
	equal(t, "log", f.log("h1"), []string{"a", "sleep"})
	evs := f.events(out.Run.ID)
	if n := count(evs, match{kind: store.KindStep, action: engine.ActionBackoutStarted}); n != 0 {
		t.Errorf("%d backouts started, want none", n)
	}
}

// TestBackoutAfterAbortNoBackout: a run stopped with --no-backout changed
// its hosts; an operator must still be able to back it out afterwards.
func TestBackoutAfterAbortNoBackout(t *testing.T) {
	t.Parallel()
	f, out := abortSleepingRun(t, true)
	f.wantState(out, store.StateFailed)
	out2, err := f.engine().Backout(context.Background(), out.Run, f.ro, "operator")
	if err != nil {
		t.Fatalf("Backout of a run aborted without backout: %v", err)
	}
	f.wantState(out2, store.StateBackedOut)
	equal(t, "log", f.log("h1"), []string{"a", "sleep", "undo-sleep", "undo-a"})
}
