package store_test

// FollowEvents against a real SQLite store (not a Follower: polled),
// closing survivors of the mutation run of internal/store
// (docs/mutation/store.txt). PostgreSQL (a Follower) is tested in
// internal/store/postgres/store_bite_test.go.

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golive-dev/golive/internal/store"
	"github.com/golive-dev/golive/internal/store/sqlite"
)

// readCounter decorates a store (as Redacted does) and counts the reads
// of a run's journal.
type readCounter struct {
	store.Store
	reads atomic.Int64
}

func (c *readCounter) Events(ctx context.Context, runID string, afterSeq int64) ([]store.Event, error) {
	c.reads.Add(1)
	return c.Store.Events(ctx, runID, afterSeq)
}

func (c *readCounter) Unwrap() store.Store { return c.Store }

func openSQLite(t *testing.T) (*sqlite.Store, store.Run) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	r, err := st.CreateRun(ctx, store.Run{Plan: "p", Release: "1", Requester: "me"})
	if err != nil {
		t.Fatal(err)
	}
	return st, r
}

// follow.go:21 (DefaultPollEvery `250 * ms` -> `/`: 0) and follow.go:30
// (`poll <= 0` -> `<`, `>`): a follower of a store that does not notify,
// given no poll interval (0 or negative), polls every DefaultPollEvery:
// idle for a second it reads the journal a few times, not thousands (a
// `logs --follow` must not spin a core); a given interval is used.
func TestFollowPollsAtTheDefaultRate(t *testing.T) {
	st, r := openSQLite(t)
	for _, poll := range []time.Duration{0, -time.Second, 100 * time.Millisecond} {
		c := &readCounter{Store: st}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := store.FollowEvents(ctx, c, r.ID, 0, poll, func(store.Event) (bool, error) { return true, nil })
		cancel()
		if err != nil {
			t.Fatalf("poll %v: FollowEvents: %v", poll, err)
		}
		// 1 s every 250 ms (100 ms): about 5 (11) reads; a loaded machine
		// makes fewer, never more.
		want := int64(1 + time.Second/(250*time.Millisecond) + 1) // DefaultPollEvery
		if poll > 0 {
			want = int64(1 + time.Second/poll + 1)
		}
		if n := c.reads.Load(); n < 1 || n > want {
			t.Errorf("poll %v: %d reads of the journal in 1 s, want 1 to %d", poll, n, want)
		}
	}
}

// follow.go:53 (`ctx.Err() != nil` -> `==`): a journal read that fails
// ends the follow with its error (the caller says the follow broke); only
// the end of ctx ends it quietly.
func TestFollowEndsWithTheStoresError(t *testing.T) {
	st, r := openSQLite(t)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := store.FollowEvents(ctx, st, r.ID, 0, 10*time.Millisecond, func(store.Event) (bool, error) { return true, nil })
	if err == nil || ctx.Err() != nil {
		t.Fatalf("following a closed store: %v (ctx %v), want the read's error at once", err, ctx.Err())
	}
	cancel()
	if err := store.FollowEvents(ctx, st, r.ID, 0, 10*time.Millisecond, func(store.Event) (bool, error) { return true, nil }); err != nil {
		t.Fatalf("following with a context that ended: %v, want nil", err)
	}
}
