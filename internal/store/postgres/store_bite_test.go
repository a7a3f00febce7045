package postgres_test

// Tests that close survivors of the mutation run of internal/store
// (docs/mutation/store.txt), through a real PostgreSQL.

import (
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
