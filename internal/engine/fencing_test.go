package engine_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golive-dev/golive/internal/engine"
	"github.com/golive-dev/golive/internal/store"
)

// takeLeaseOver makes "other-server" the executor of the fixture's only
// run, leaving the environment lock alone (as a controller that judged
// this one's lease expired would), and returns the run and its new lease.
func takeLeaseOver(t *testing.T, f *fixture) (store.Run, store.Lease) {
	t.Helper()
	ctx := context.Background()
	runs, err := f.st.ListRuns(ctx, store.RunFilter{})
	if err != nil || len(runs) != 1 {
		t.Fatalf("ListRuns = %d runs, %v", len(runs), err)
	}
	cur, err := f.st.GetLease(ctx, runs[0].ID)
	if err != nil || cur.Epoch == 0 {
		t.Fatalf("the executing run has no lease: %+v, %v", cur, err)
	}
	next, err := f.openStore().StealLease(ctx, cur, "other-server", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return runs[0], next
}

// TestFencedExecutorStops: once another controller took the run's lease,
// the old executor's next journal write is refused; it stops (a
// *engine.LockLostError), starts no further step and writes nothing more.
func TestFencedExecutorStops(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1, strings.Replace(sleepingStep, "sleep 30", "sleep 1", 1)+
		"      - {name: c, run: echo c >> log, backout: echo undo-c >> log}\n")
	// No heartbeat during the test: only the refused write can stop it.
	e := f.engine(func(o *engine.Options) { o.Heartbeat = time.Hour })
	done := make(chan error, 1)
	go func() {
		_, err := e.Start(context.Background(), engine.Request{Rollout: f.ro, Requester: "tester"})
		done <- err
	}()
	waitFile(t, filepath.Join(f.hostDir("h1"), "sh.pid"), 5*time.Second)
	run, _ := takeLeaseOver(t, f)
	before, _ := f.st.Events(context.Background(), run.ID, 0)
	select {
	case err := <-done:
		var lost *engine.LockLostError
		if !errors.As(err, &lost) || !errors.Is(lost.Err, store.ErrFenced) {
			t.Fatalf("Start: %v, want a *engine.LockLostError from a fenced write", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the fenced executor went on")
	}
	after, _ := f.st.Events(context.Background(), run.ID, 0)
	if len(after) != len(before) {
		t.Errorf("the fenced executor wrote %d events after the takeover: %+v", len(after)-len(before), after[len(before):])
	}
	equal(t, "log", f.log("h1"), []string{"a", "sleep"})
	if r, _ := f.st.GetRun(context.Background(), run.ID); r.State != store.StateRunning {
		t.Errorf("the fenced executor moved the run to %s", r.State)
	}
}

// TestFencedHeartbeatStops: the lease renewal on the heartbeat finds the
// run taken over and stops the executor while its step still runs.
func TestFencedHeartbeatStops(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1, sleepingStep)
	e := f.engine(func(o *engine.Options) { o.PollEvery = 20 * time.Millisecond; o.Heartbeat = 20 * time.Millisecond })
	done := make(chan error, 1)
	go func() {
		_, err := e.Start(context.Background(), engine.Request{Rollout: f.ro, Requester: "tester"})
		done <- err
	}()
	waitFile(t, filepath.Join(f.hostDir("h1"), "sh.pid"), 5*time.Second)
	takeLeaseOver(t, f)
	select {
	case err := <-done:
		var lost *engine.LockLostError
		if !errors.As(err, &lost) {
			t.Fatalf("Start: %v, want a *engine.LockLostError", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the executor did not notice it was taken over (step sleeps 30s)")
	}
	waitGone(t, readPID(t, filepath.Join(f.hostDir("h1"), "sh.pid")), 2*time.Second)
	equal(t, "log", f.log("h1"), []string{"a", "sleep"})
}

// TestLeaseReleasedAtTheEnd: a run that finished leaves its lease
// released (expired) at once, with the epoch it ran under.
func TestLeaseReleasedAtTheEnd(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1, strings.Replace(sleepingStep, "sleep 30", "true", 1))
	out, err := f.engine().Start(context.Background(), engine.Request{Rollout: f.ro, Requester: "tester"})
	if err != nil {
		t.Fatal(err)
	}
	l, err := f.st.GetLease(context.Background(), out.Run.ID)
	if err != nil || l.Epoch != 1 || !l.Expired(time.Now()) {
		t.Errorf("lease after the run = %+v, %v; want epoch 1, expired", l, err)
	}
}

// observerFunc is an engine.Observer.
type observerFunc func(store.Event)

func (f observerFunc) Observe(ev store.Event) { f(ev) }

// TestFencedBeforeCommand: the executor journaled a step's start, then
// (paused longer than its lease) was taken over before it ran the command:
// it renews its lease before acting on the host, finds the run taken over
// and runs nothing.
func TestFencedBeforeCommand(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1, `stages:
  - name: web
    on: web
    steps:
      - {name: a, run: "sleep 1; echo a >> log", backout: echo undo-a >> log}
      - {name: b, run: echo b >> log, backout: echo undo-b >> log}
`)
	var stole bool
	e := f.engine(func(o *engine.Options) {
		o.Heartbeat = time.Hour // no renewal: the lease lapses while a runs
		o.LeaseTTL = 300 * time.Millisecond
		o.Observer = observerFunc(func(ev store.Event) {
			if ev.Kind == store.KindStep && ev.Step == "b" && ev.Action == store.ActionStarted && !stole {
				stole = true
				takeLeaseOver(t, f)
			}
		})
	})
	_, err := e.Start(context.Background(), engine.Request{Rollout: f.ro, Requester: "tester"})
	var lost *engine.LockLostError
	if !errors.As(err, &lost) || !errors.Is(lost.Err, store.ErrFenced) {
		t.Fatalf("Start: %v, want a *engine.LockLostError from the lease check", err)
	}
	if !stole {
		t.Fatal("step b never started")
	}
	equal(t, "log", f.log("h1"), []string{"a"})
}
