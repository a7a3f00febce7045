package postgres_test

// Tests that close survivors of the mutation run of internal/store
// (docs/mutation/store.txt), through a real PostgreSQL.

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golive-dev/golive/internal/pgtest"
	"github.com/golive-dev/golive/internal/store"
	"github.com/golive-dev/golive/internal/store/postgres"
)

// internal/store lease.go:115 (store.Leased: `l.Epoch > 0` -> `<=`): the
// executor's run state change, made under its lease as the engine makes
// it, waits out a PostgreSQL outage far longer than the retry limit and
// commits once PostgreSQL is back (an executor that gave up would fail a
// release it still holds); the same change without a lease (an operator's)
// gives up after the limit.
func TestExecutorStateChangeWaitsOutAnOutage(t *testing.T) {
	srv, err := pgtest.Start()
	if err != nil {
		t.Skipf("no PostgreSQL for this test: %v", err)
	}
	t.Cleanup(srv.Stop)
	const limit = 300 * time.Millisecond
	s := open(t, srv.NewDatabase(t), postgres.WithRetryFor(limit))
	ctx := tctx(t)
	r, err := s.CreateRun(ctx, store.Run{Plan: "p", Release: "1"})
	if err != nil {
		t.Fatal(err)
	}
	other, err := s.CreateRun(ctx, store.Run{Plan: "q", Release: "1"})
	if err != nil {
		t.Fatal(err)
	}
	l, err := s.AcquireLease(ctx, r.ID, "executor", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Down(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Up() })
	start := time.Now()
	executor, operator := make(chan outcome, 1), make(chan outcome, 1)
	go func() {
		_, err := s.UpdateRunState(store.WithLease(ctx, l), r.ID, []store.State{store.StatePending}, store.StateRunning, "")
		executor <- outcome{err, time.Since(start)}
	}()
	go func() {
		_, err := s.UpdateRunState(ctx, other.ID, []store.State{store.StatePending}, store.StateAborted, "operator")
		operator <- outcome{err, time.Since(start)}
	}()
	select {
	case o := <-operator:
		if o.err == nil {
			t.Errorf("the operator's state change succeeded with PostgreSQL down")
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("the operator's state change did not give up (limit %v)", limit)
	}
	time.Sleep(10 * limit)
	select {
	case o := <-executor:
		t.Fatalf("the executor's state change ended during the outage after %v: %v", o.took, o.err)
	default:
	}
	if err := srv.Up(); err != nil {
		t.Fatal(err)
	}
	select {
	case o := <-executor:
		if o.err != nil {
			t.Fatalf("the executor's state change failed once PostgreSQL was back: %v", o.err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("the executor's state change still waits after PostgreSQL came back")
	}
	got, err := s.GetRun(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != store.StateRunning {
		t.Errorf("run state after the outage: %s, want running", got.State)
	}
}

// readCounter decorates a store (as store.Redacted does) and counts the
// reads of a run's journal.
type readCounter struct {
	store.Store
	reads atomic.Int64
}

func (c *readCounter) Events(ctx context.Context, runID string, afterSeq int64) ([]store.Event, error) {
	c.reads.Add(1)
	return c.Store.Events(ctx, runID, afterSeq)
}

func (c *readCounter) Unwrap() store.Store { return c.Store }

// internal/store follow.go:38, 39, 72 (`err == nil` -> `!=`, `5 *
// time.Second` -> `/`, FollowerOf's `st != nil` -> `==`): following a
// PostgreSQL store, also through a decorator, waits for its notifications
// instead of polling: every event appended by another process's store
// arrives, in order, and a second of quiet costs (nearly) no read of the
// journal (a poll every 10 ms would make a hundred).
func TestFollowWaitsForNotifications(t *testing.T) {
	dsn := pgtest.DSN(t)
	a, b := open(t, dsn), open(t, dsn)
	ctx := tctx(t)
	r, err := a.CreateRun(ctx, store.Run{Plan: "p", Release: "1"})
	if err != nil {
		t.Fatal(err)
	}
	evs, err := a.Events(ctx, r.ID, 0) // the run's creation
	if err != nil || len(evs) == 0 {
		t.Fatalf("events of a new run: %v, %v", evs, err)
	}
	after := evs[len(evs)-1].Seq
	c := &readCounter{Store: store.Redacted(a, func(s string) string { return s })}
	if store.FollowerOf(c) == nil {
		t.Fatal("FollowerOf(a decorated PostgreSQL store) = nil")
	}
	got, done := make(chan string, 10), make(chan error, 1)
	go func() {
		done <- store.FollowEvents(ctx, c, r.ID, after, 10*time.Millisecond, func(e store.Event) (bool, error) {
			got <- e.Message
			return e.Message != "last", nil
		})
	}()
	appendMsg := func(msg string) {
		if _, err := b.AppendEvent(ctx, store.Event{RunID: r.ID, Kind: "host", Action: "started", Message: msg}); err != nil {
			t.Fatal(err)
		}
	}
	next := func() string {
		select {
		case m := <-got:
			return m
		case <-time.After(30 * time.Second):
			t.Fatal("an appended event did not reach the follower")
			return ""
		}
	}
	appendMsg("1")
	appendMsg("2")
	if m := next() + next(); m != "12" {
		t.Fatalf("followed %q, want 1 then 2", m)
	}
	before := c.reads.Load()
	time.Sleep(time.Second)
	quiet := c.reads.Load() - before
	appendMsg("last")
	if m := next(); m != "last" {
		t.Fatalf("followed %q, want last", m)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("FollowEvents: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("FollowEvents did not end after the last event")
	}
	// Late wake-ups (coalesced notifications of 1 and 2, the listener's
	// start) may fall into the quiet second.
	if quiet > 3 {
		t.Errorf("%d reads of the journal in a quiet second, want at most 3 (%s in all)", quiet, fmt.Sprint(c.reads.Load()))
	}
}
