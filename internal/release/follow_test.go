package release_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/golive-dev/golive/internal/release"
	"github.com/golive-dev/golive/internal/store"
	"github.com/golive-dev/golive/internal/store/sqlite"
)

// followTo runs FollowJournal from after to its end in the background and
// returns the actions it saw, by channel.
func followTo(t *testing.T, st store.Store, id string, after int64) <-chan []string {
	t.Helper()
	out := make(chan []string, 1)
	go func() {
		var seen []string
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		err := release.FollowJournal(ctx, st, id, after, true, 20*time.Millisecond, func(ev store.Event) error {
			seen = append(seen, string(ev.Kind)+" "+string(ev.Action))
			return nil
		})
		if err != nil {
			t.Errorf("FollowJournal: %v", err)
		}
		out <- seen
	}()
	return out
}

func succeededHoldingLock(t *testing.T) (store.Store, store.Run) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	r, err := st.CreateRun(ctx, store.Run{Plan: "web", Env: "prod", Release: "2.0", PlanHash: "h", Requester: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.AcquireLock(ctx, store.Lock{Plan: "web", Env: "prod", RunID: r.ID, Holder: store.ThisHolder()}); err != nil {
		t.Fatal(err)
	}
	for _, ev := range []store.Event{{RunID: r.ID, Kind: store.KindLock, Action: store.ActionAcquired}} {
		if _, err := st.AppendEvent(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.UpdateRunState(ctx, r.ID, []store.State{store.StatePending}, store.StateRunning, "go"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.UpdateRunState(ctx, r.ID, []store.State{store.StateRunning}, store.StateSucceeded, "live"); err != nil {
		t.Fatal(err)
	}
	return st, r
}

// A run's executor journals "lock released" after the final state: a
// follower that ended at the final state missed it (logs --follow on a
// loaded CI machine did).
func TestFollowWaitsForTheLockRelease(t *testing.T) {
	for _, after := range []int64{0, 2} { // from the start; resumed past "lock acquired"
		st, r := succeededHoldingLock(t)
		seen := followTo(t, st, r.ID, after)
		time.Sleep(400 * time.Millisecond) // several empty reads after the final state
		if err := st.ReleaseLock(context.Background(), "web", "prod", r.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := st.AppendEvent(context.Background(), store.Event{RunID: r.ID, Kind: store.KindLock, Action: store.ActionReleased}); err != nil {
			t.Fatal(err)
		}
		got := <-seen
		if len(got) == 0 || got[len(got)-1] != "lock released" {
			t.Errorf("after %d: follower saw %q, want it to end with the lock released", after, got)
		}
	}
}

// A terminal run that keeps its lock (failed) or never took one ends the
// follow at once; one whose executor died before releasing ends it after
// the bounded wait, not never.
func TestFollowEndsWithoutARelease(t *testing.T) {
	ctx := context.Background()
	st, r := succeededHoldingLock(t)
	start := time.Now()
	got := <-followTo(t, st, r.ID, 0)
	if waited := time.Since(start); waited < 4*time.Second {
		t.Errorf("follower of a run still holding its lock ended after %s, before the wait for its release", waited)
	}
	if got[len(got)-1] != "state succeeded" {
		t.Errorf("follower saw %q", got)
	}

	r2, err := st.CreateRun(ctx, store.Run{Plan: "web", Env: "prod", Release: "2.1", PlanHash: "h", Requester: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.AppendEvent(ctx, store.Event{RunID: r2.ID, Kind: store.KindLock, Action: store.ActionAcquired}); err != nil {
		t.Fatal(err)
	}
	st.UpdateRunState(ctx, r2.ID, []store.State{store.StatePending}, store.StateRunning, "go")
	if _, err := st.UpdateRunState(ctx, r2.ID, []store.State{store.StateRunning}, store.StateFailed, "h2 failed"); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-followTo(t, st, r2.ID, 0):
		if got[len(got)-1] != "state failed" {
			t.Errorf("follower of the failed run saw %q", got)
		}
	case <-time.After(3 * time.Second):
		t.Errorf("follower of a failed run (which keeps its lock) did not end at once")
	}
}
