package postgres_test

import (
	"errors"
	"testing"
	"time"

	"github.com/golive-dev/golive/internal/pgtest"
	"github.com/golive-dev/golive/internal/store"
	"github.com/golive-dev/golive/internal/store/postgres"
)

type outcome struct {
	err  error
	took time.Duration
}

// TestExecutorWaitsOutAnOutage: PostgreSQL is down for much longer than
// the store's retry limit. An operator's write (no lease) gives up after
// the limit, but the executor's journal append and lease renewal (under
// its lease) keep retrying and succeed once PostgreSQL is back: the
// executor regains its lease. Had another controller taken the run over
// meanwhile, the same waiting writes are refused as fenced.
func TestExecutorWaitsOutAnOutage(t *testing.T) {
	srv, err := pgtest.Start()
	if err != nil {
		t.Skipf("no PostgreSQL for this test: %v", err)
	}
	t.Cleanup(srv.Stop)
	const limit = 300 * time.Millisecond
	dsn := srv.NewDatabase(t)
	s := open(t, dsn, postgres.WithRetryFor(limit))
	ctx := tctx(t)
	r, err := s.CreateRun(ctx, store.Run{Plan: "p", Release: "1"})
	if err != nil {
		t.Fatal(err)
	}
	l, err := s.AcquireLease(ctx, r.ID, "executor", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	leased := store.WithLease(ctx, l)

	if err := srv.Down(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	appended, renewed, operator := make(chan outcome, 1), make(chan outcome, 1), make(chan outcome, 1)
	go func() {
		_, err := s.AppendEvent(leased, store.Event{RunID: r.ID, Kind: store.KindStep, Action: store.ActionFinished, Message: "during the outage"})
		appended <- outcome{err, time.Since(start)}
	}()
	go func() {
		_, err := s.RenewLease(ctx, l, time.Minute)
		renewed <- outcome{err, time.Since(start)}
	}()
	go func() {
		_, err := s.UpdateRunState(ctx, r.ID, []store.State{store.StatePending}, store.StateAborted, "operator")
		operator <- outcome{err, time.Since(start)}
	}()
	select {
	case o := <-operator:
		if o.err == nil {
			t.Errorf("the operator's write succeeded with PostgreSQL down")
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("the operator's write did not give up (limit %v)", limit)
	}
	time.Sleep(10 * limit) // far past the limit: the executor's writes still wait
	for name, ch := range map[string]chan outcome{"append": appended, "renewal": renewed} {
		select {
		case o := <-ch:
			t.Fatalf("the executor's %s ended during the outage after %v: %v", name, o.took, o.err)
		default:
		}
	}
	if err := srv.Up(); err != nil {
		t.Fatal(err)
	}
	for name, ch := range map[string]chan outcome{"append": appended, "renewal": renewed} {
		select {
		case o := <-ch:
			if o.err != nil {
				t.Errorf("the executor's %s failed once PostgreSQL was back: %v", name, o.err)
			}
		case <-time.After(60 * time.Second):
			t.Fatalf("the executor's %s still waits after PostgreSQL came back", name)
		}
	}
	evs, err := s.Events(ctx, r.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	if n := count(evs, "during the outage"); n != 1 {
		t.Errorf("the append made during the outage is stored %d times, want once", n)
	}

	// Another outage, during which another controller takes the run
	// over as soon as PostgreSQL is back: the waiting append is fenced.
	if err := srv.Down(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_, err := s.AppendEvent(leased, store.Event{RunID: r.ID, Kind: store.KindStep, Action: store.ActionFinished, Message: "fenced"})
		appended <- outcome{err, 0}
	}()
	time.Sleep(3 * limit)
	if err := srv.Up(); err != nil {
		t.Fatal(err)
	}
	other := open(t, dsn)
	if _, err := other.StealLease(ctx, l, "another", time.Minute); err != nil {
		t.Logf("steal: %v (the executor's append may have committed first)", err)
	}
	select {
	case o := <-appended:
		evs, _ := s.Events(ctx, r.ID, 0)
		if o.err == nil && count(evs, "fenced") != 1 || o.err != nil && !errors.Is(o.err, store.ErrFenced) {
			t.Errorf("the waiting append after the takeover: %v, stored %d times", o.err, count(evs, "fenced"))
		}
	case <-time.After(60 * time.Second):
		t.Fatal("the waiting append never ended")
	}

	// StopWaiting (an operator insisted) ends a patient wait at once (on
	// a store of its own: closing the first is tried next).
	s2 := open(t, dsn, postgres.WithRetryFor(limit))
	l2, err := s2.GetLease(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Down(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Up() })
	go func() {
		_, err := s2.AppendEvent(store.WithLease(ctx, l2), store.Event{RunID: r.ID, Kind: store.KindStep, Action: store.ActionFinished, Message: "given up"})
		appended <- outcome{err, 0}
	}()
	time.Sleep(3 * limit)
	s2.StopWaiting()
	select {
	case o := <-appended:
		if o.err == nil {
			t.Errorf("an append given up on succeeded")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("StopWaiting did not end a patient append")
	}

	// Closing the store ends a patient wait at once.
	go func() {
		_, err := s.RenewLease(ctx, l, time.Minute)
		renewed <- outcome{err, 0}
	}()
	time.Sleep(3 * limit)
	closed := make(chan struct{})
	go func() { s.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(30 * time.Second):
		t.Fatal("Close hung on a patient renewal")
	}
	if o := <-renewed; o.err == nil {
		t.Errorf("a renewal ended by Close succeeded")
	}
}

func count(evs []store.Event, msg string) int {
	n := 0
	for _, e := range evs {
		if e.Message == msg {
			n++
		}
	}
	return n
}
