package engine_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/golive-dev/golive/internal/clock"
	"github.com/golive-dev/golive/internal/engine"
	"github.com/golive-dev/golive/internal/store"
)

// blockingStep waits for the file "go" in the fixture root.
const blockingStep = `stages:
  - name: web
    on: web
    steps:
      - name: a
        backout: echo undo-a >> log
        run: 'echo a >> log; while [ ! -f @ROOT@/go ]; do sleep 0.02; done'
`

// holdLock starts a run that holds the lock until release is called.
func holdLock(t *testing.T, f *fixture) (first store.Run, release func() *engine.Outcome) {
	c, done := startAsync(t, f, f.engine(), 0)
	first = created(t, c)
	waitFile(t, filepath.Join(f.hostDir("h1"), "log"), 5*time.Second)
	for deadline := time.Now().Add(5 * time.Second); len(f.log("h1")) == 0 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond) // the file exists; wait for its first line
	}
	return first, func() *engine.Outcome {
		if err := os.WriteFile(filepath.Join(f.root, "go"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		select {
		case out := <-done:
			return out
		case <-time.After(5 * time.Second):
			t.Fatal("first run did not finish")
		}
		return nil
	}
}

func TestLockHeldByAnotherRun(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1, blockingStep)
	first, release := holdLock(t, f)
	defer release()

	second := f.engine(func(o *engine.Options) { o.Store = f.openStore() })
	for _, wait := range []time.Duration{0, 300 * time.Millisecond} {
		began := time.Now()
		out, err := second.Start(context.Background(), engine.Request{Rollout: f.ro, Requester: "carol", LockWait: wait})
		var locked *store.LockedError
		if !errors.As(err, &locked) || locked.Lock.RunID != first.ID {
			t.Fatalf("wait %s: err = %v, want a *store.LockedError naming %s", wait, err, first.ID)
		}
		if took := time.Since(began); took < wait {
			t.Errorf("gave up after %s, before the lock wait of %s", took, wait)
		}
		if out != nil && out.Run.State != store.StateAborted {
			t.Fatalf("wait %s: outcome = %+v, want none or an aborted run", wait, out)
		}
	}
	onlyFirstRan(t, f, first.ID)
}

// TestLockWaitStartsAfterFirstRun: with a lock wait, a second run waits
// (on the fake clock) and starts once the first has finished.
func TestLockWaitStartsAfterFirstRun(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1, blockingStep)
	first, release := holdLock(t, f)

	fake := clock.NewFake(time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC))
	second := f.engine(func(o *engine.Options) { o.Store = f.openStore(); o.Clock = fake })
	_, done2 := startAsync(t, f, second, time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := fake.BlockUntilContext(ctx, 1); err != nil {
		t.Fatal("second run does not wait for the lock")
	}
	fake.Advance(time.Second) // still held: it waits again
	if err := fake.BlockUntilContext(ctx, 1); err != nil {
		t.Fatal("second run stopped waiting while the lock is held")
	}
	onlyFirstRan(t, f, first.ID)
	f.wantState(release(), store.StateSucceeded)

	fake.Advance(time.Second)
	select {
	case out := <-done2:
		f.wantState(out, store.StateSucceeded)
	case <-time.After(5 * time.Second):
		t.Fatal("second run did not start after the first finished")
	}
	equal(t, "log", f.log("h1"), []string{"a", "a"})
	wantNoLock(t, f)
}

// onlyFirstRan checks that no run but first is running or ran a step.
func onlyFirstRan(t *testing.T, f *fixture, first string) {
	t.Helper()
	runs, err := f.st.ListRuns(context.Background(), store.RunFilter{Plan: "t"})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range runs {
		if r.ID == first {
			continue
		}
		if r.State != store.StateAborted && r.State != store.StatePending {
			t.Errorf("run %s is %s while %s holds the lock", r.ID, r.State, first)
		}
		if n := count(f.events(r.ID), match{kind: store.KindStep}); n != 0 {
			t.Errorf("locked-out run %s has %d step events", r.ID, n)
		}
	}
	equal(t, "log", f.log("h1"), []string{"a"})
}
