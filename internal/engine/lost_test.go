package engine_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/golive-dev/golive/internal/engine"
	"github.com/golive-dev/golive/internal/store"
)

// TestLockLostStopsRun: when another controller takes the run's lock over
// (it thought this one dead), this one stops its steps, backs nothing out
// and leaves the new holder's lock alone.
func TestLockLostStopsRun(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1, sleepingStep)
	e := f.engine(func(o *engine.Options) { o.PollEvery = 20 * time.Millisecond; o.Heartbeat = 20 * time.Millisecond })
	done := make(chan error, 1)
	go func() {
		_, err := e.Start(context.Background(), engine.Request{Rollout: f.ro, Requester: "tester"})
		done <- err
	}()
	waitFile(t, filepath.Join(f.hostDir("h1"), "sh.pid"), 5*time.Second)
	ctx := context.Background()
	cur, err := f.st.GetLock(ctx, "t", "")
	if err != nil {
		t.Fatal(err)
	}
	next := cur
	next.Holder = store.Holder{PID: cur.Holder.PID + 1, Hostname: "other-controller"}
	if _, err := f.openStore().StealLock(ctx, cur, next); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		var lost *engine.LockLostError
		if !errors.As(err, &lost) {
			t.Fatalf("Start: %v, want a *engine.LockLostError", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("run went on without its lock")
	}
	waitGone(t, readPID(t, filepath.Join(f.hostDir("h1"), "sh.pid")), 2*time.Second)
	equal(t, "log", f.log("h1"), []string{"a", "sleep"})
	l, err := f.st.GetLock(ctx, "t", "")
	if err != nil || l.Holder != next.Holder {
		t.Errorf("lock = %+v, %v; want still held by the new controller %v", l, err, next.Holder)
	}
}
