package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golive-dev/golive/internal/store"
	"github.com/golive-dev/golive/internal/store/sqlite"
)

// TestStateChangeNeedsItsEvent: a state change and its journal event are
// one write. When the event cannot be inserted (a trigger of the real
// database refuses it), the change fails and nothing of it stays: the
// state, the run's sequence (the next event gets the next number, no gap).
func TestStateChangeNeedsItsEvent(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state.db")
	s := open(t, path)
	r, err := s.CreateRun(ctx, store.Run{Plan: "p", Release: "2"})
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `CREATE TRIGGER refuse_running BEFORE INSERT ON events
		WHEN NEW.kind = 'state' AND NEW.action = 'running' BEGIN SELECT RAISE(ABORT, 'refused'); END`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateRunState(ctx, r.ID, []store.State{r.State}, store.StateRunning, "go"); err == nil {
		t.Fatal("UpdateRunState succeeded although its event was refused")
	}
	got, err := s.GetRun(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != r.State {
		t.Errorf("state %s after the failed change, want %s", got.State, r.State)
	}
	seq, err := s.AppendEvent(ctx, store.Event{RunID: r.ID, Kind: store.KindRun, Action: "note", Message: "after"})
	if err != nil {
		t.Fatal(err)
	}
	evs, err := s.Events(ctx, r.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 || seq != 2 || evs[1].Seq != 2 {
		t.Errorf("journal %+v, next seq %d: want the creation event then seq 2 (no gap)", evs, seq)
	}
}

// TestNoLeaseHasNoExpiry: a run nobody ever leased has epoch 0 and a zero
// expiry (not 1970).
func TestNoLeaseHasNoExpiry(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "state.db"))
	r, err := s.CreateRun(ctx, store.Run{Plan: "p", Release: "2"})
	if err != nil {
		t.Fatal(err)
	}
	l, err := s.GetLease(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if l.Epoch != 0 || l.Holder != "" || !l.Expires.IsZero() {
		t.Errorf("lease of a run never leased = %+v, want epoch 0, no holder, zero expiry", l)
	}
}

// TestStealFromNoLeaseRefusedOnceLeased: a server that saw no lease
// (epoch 0) and steals it must be refused when another took the lease in
// the meantime (epoch 1): stealing compares the epoch it saw.
func TestStealFromNoLeaseRefusedOnceLeased(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "state.db"))
	r, err := s.CreateRun(ctx, store.Run{Plan: "p", Release: "2"})
	if err != nil {
		t.Fatal(err)
	}
	seen, err := s.GetLease(ctx, r.ID)
	if err != nil || seen.Epoch != 0 {
		t.Fatalf("GetLease = %+v, %v", seen, err)
	}
	if _, err := s.AcquireLease(ctx, r.ID, "a", time.Minute); err != nil {
		t.Fatal(err)
	}
	var held *store.LeaseHeldError
	if l, err := s.StealLease(ctx, seen, "b", time.Minute); !errors.As(err, &held) || held.Lease.Holder != "a" {
		t.Fatalf("StealLease with epoch 0 after a took it = %+v, %v; want LeaseHeldError naming a", l, err)
	}
}

// TestRunIDsCollideAndRetry: run ids carry the second and 4 random hex
// digits, so 1,000 runs created within one second collide (with
// probability 1 - 5e-4); each collision is retried with a new id, every
// run is created, all ids differ.
func TestRunIDsCollideAndRetry(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "state.db"), sqlite.WithNow(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ids := map[string]bool{}
	for i := range 1000 {
		r, err := s.CreateRun(ctx, store.Run{Plan: "p", Release: "2"})
		if err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
		ids[r.ID] = true
	}
	if len(ids) != 1000 {
		t.Fatalf("%d distinct ids for 1000 runs", len(ids))
	}
}

// TestQuickCheckProblemRowsRefused: damage quick_check reports as rows
// (here a NULL in a NOT NULL column, written behind SQLite's back), not as
// an error, also makes Open refuse the store, quoting the problem.
func TestQuickCheckProblemRowsRefused(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state.db")
	open(t, path).Close()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`CREATE TABLE extra (a TEXT)`, `INSERT INTO extra VALUES (NULL)`, `PRAGMA writable_schema = ON`,
		`UPDATE sqlite_schema SET sql = 'CREATE TABLE extra (a TEXT NOT NULL)' WHERE name = 'extra'`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()
	_, err = sqlite.Open(ctx, path)
	checkDamaged(t, err, path)
	if !strings.Contains(err.Error(), "NULL value in extra.a") {
		t.Errorf("error %q does not quote quick_check's problem", err)
	}
}
