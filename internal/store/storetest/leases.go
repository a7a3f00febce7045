package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/golive-dev/golive/internal/store"
)

const leaseTTL = time.Minute

// testLease: acquire, renew, release, take over; a lease held by another
// holder is refused with a *LeaseHeldError; the holder itself re-acquires
// with a new epoch.
func testLease(t *testing.T, s store.Store) {
	r := newRun(t, s, "p", "e", "1")
	l0, err := s.GetLease(ctx(t), r.ID)
	if err != nil || l0.Epoch != 0 || !l0.Expired(time.Now()) {
		t.Fatalf("GetLease of a new run = %+v, %v; want epoch 0, expired", l0, err)
	}
	a, err := s.AcquireLease(ctx(t), r.ID, "ctl-a", leaseTTL)
	if err != nil || a.Epoch != 1 || a.Holder != "ctl-a" || a.RunID != r.ID {
		t.Fatalf("AcquireLease = %+v, %v; want epoch 1 held by ctl-a", a, err)
	}
	recent(t, "Expires-TTL", a.Expires.Add(-leaseTTL))
	_, err = s.AcquireLease(ctx(t), r.ID, "ctl-b", leaseTTL)
	var held *store.LeaseHeldError
	if !errors.As(err, &held) || !errors.Is(err, store.ErrLeaseHeld) || held.Lease.Holder != "ctl-a" || held.Lease.Epoch != 1 {
		t.Fatalf("AcquireLease of a held lease: %v, want a LeaseHeldError naming ctl-a epoch 1", err)
	}
	if got, err := s.GetLease(ctx(t), r.ID); err != nil || got.Epoch != 1 || got.Holder != "ctl-a" || !got.Expires.Equal(a.Expires) {
		t.Errorf("GetLease = %+v, %v; want %+v", got, err, a)
	}
	time.Sleep(2 * time.Millisecond)
	renewed, err := s.RenewLease(ctx(t), a, leaseTTL)
	if err != nil || renewed.Epoch != 1 || !renewed.Expires.After(a.Expires) {
		t.Fatalf("RenewLease = %+v, %v; want epoch 1 expiring after %v", renewed, err, a.Expires)
	}
	again, err := s.AcquireLease(ctx(t), r.ID, "ctl-a", leaseTTL)
	if err != nil || again.Epoch != 2 {
		t.Fatalf("AcquireLease by the holder = %+v, %v; want epoch 2", again, err)
	}
	if _, err := s.RenewLease(ctx(t), a, leaseTTL); !errors.Is(err, store.ErrFenced) {
		t.Errorf("RenewLease of epoch 1 after epoch 2: %v, want ErrFenced", err)
	}
	if err := s.ReleaseLease(ctx(t), again); err != nil {
		t.Fatalf("ReleaseLease: %v", err)
	}
	b, err := s.AcquireLease(ctx(t), r.ID, "ctl-b", leaseTTL)
	if err != nil || b.Epoch != 3 || b.Holder != "ctl-b" {
		t.Fatalf("AcquireLease after release = %+v, %v; want epoch 3 held by ctl-b", b, err)
	}
	// Releasing a stale lease changes nothing.
	if err := s.ReleaseLease(ctx(t), again); err != nil {
		t.Fatalf("ReleaseLease of a stale lease: %v", err)
	}
	if _, err := s.AcquireLease(ctx(t), r.ID, "ctl-c", leaseTTL); !errors.Is(err, store.ErrLeaseHeld) {
		t.Errorf("a stale ReleaseLease freed the current lease: %v", err)
	}
}

func testLeaseInvalid(t *testing.T, s store.Store) {
	r := newRun(t, s, "p", "e", "1")
	wantErr(t, "AcquireLease of a missing run", func() error {
		_, err := s.AcquireLease(ctx(t), "r-missing", "ctl", leaseTTL)
		return err
	}(), store.ErrNotFound)
	_, err := s.GetLease(ctx(t), "r-missing")
	wantErr(t, "GetLease of a missing run", err, store.ErrNotFound)
	for _, tc := range []struct {
		holder string
		ttl    time.Duration
	}{{"", leaseTTL}, {"ctl", 0}, {"ctl", -time.Second}} {
		_, err := s.AcquireLease(ctx(t), r.ID, tc.holder, tc.ttl)
		wantErr(t, "AcquireLease("+tc.holder+", "+tc.ttl.String()+")", err, store.ErrInvalid)
	}
}

// testLeaseExpiry: an expired lease is taken by another holder, with the
// next epoch.
func testLeaseExpiry(t *testing.T, s store.Store) {
	r := newRun(t, s, "p", "e", "1")
	a, err := s.AcquireLease(ctx(t), r.ID, "ctl-a", 20*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	for time.Now().Before(a.Expires.Add(20 * time.Millisecond)) {
		time.Sleep(5 * time.Millisecond)
	}
	b, err := s.AcquireLease(ctx(t), r.ID, "ctl-b", leaseTTL)
	if err != nil || b.Epoch != 2 {
		t.Fatalf("AcquireLease of an expired lease = %+v, %v; want epoch 2", b, err)
	}
}

// testLeaseRace: holders racing for a free lease: exactly one wins.
func testLeaseRace(t *testing.T, s store.Store) {
	r := newRun(t, s, "p", "e", "1")
	holders := []string{"a", "b", "c", "d", "e", "f", "g", "h"}
	errs := race(len(holders), func(i int) error {
		_, err := s.AcquireLease(ctx(t), r.ID, holders[i], leaseTTL)
		return err
	})
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, store.ErrLeaseHeld):
			t.Errorf("AcquireLease: %v", err)
		}
	}
	if l, err := s.GetLease(ctx(t), r.ID); won != 1 || err != nil || l.Epoch != 1 {
		t.Errorf("%d holders won the lease (%+v, %v): %s", won, l, err, fmtErrs(errs))
	}
}

// testFencing: once a run's lease was taken over, the old holder's appends
// and state changes are refused with a *FencedError, nothing of them
// stored; the new holder's and unleased writes go on.
func testFencing(t *testing.T, s store.Store) {
	r := newRun(t, s, "p", "e", "1")
	other := newRun(t, s, "p", "e", "2")
	setState(t, s, r.ID, store.StateRunning)
	a, err := s.AcquireLease(ctx(t), r.ID, "ctl-a", 20*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	actx := store.WithLease(ctx(t), a)
	if _, err := s.AppendEvent(actx, store.Event{RunID: r.ID, Kind: "host", Action: "started", Message: "a-1"}); err != nil {
		t.Fatalf("AppendEvent with the current lease: %v", err)
	}
	for time.Now().Before(a.Expires.Add(20 * time.Millisecond)) {
		time.Sleep(5 * time.Millisecond)
	}
	// Expired but not taken over: still the run's epoch, still writes.
	if _, err := s.AppendEvent(actx, store.Event{RunID: r.ID, Kind: "host", Action: "started", Message: "a-2"}); err != nil {
		t.Fatalf("AppendEvent with an expired lease nobody took: %v", err)
	}
	b, err := s.AcquireLease(ctx(t), r.ID, "ctl-b", leaseTTL)
	if err != nil {
		t.Fatal(err)
	}
	before, _ := s.Events(ctx(t), r.ID, 0)
	_, err = s.AppendEvent(actx, store.Event{RunID: r.ID, Kind: "host", Action: "started", Message: "a-3"})
	var fenced *store.FencedError
	if !errors.As(err, &fenced) || !errors.Is(err, store.ErrFenced) || fenced.Epoch != 1 || fenced.Current != 2 || fenced.Holder != "ctl-b" {
		t.Fatalf("AppendEvent with a stale lease: %v, want a FencedError (epoch 1, current 2, ctl-b)", err)
	}
	_, err = s.UpdateRunState(actx, r.ID, []store.State{store.StateRunning}, store.StateSucceeded, "stale")
	if !errors.Is(err, store.ErrFenced) {
		t.Fatalf("UpdateRunState with a stale lease: %v, want ErrFenced", err)
	}
	// Many stale appends at once (one group commit) are each refused.
	errs := race(10, func(int) error {
		_, err := s.AppendEvent(actx, store.Event{RunID: r.ID, Kind: "host", Action: "started", Message: "a-n"})
		return err
	})
	for _, err := range errs {
		if !errors.Is(err, store.ErrFenced) {
			t.Errorf("concurrent stale AppendEvent: %v, want ErrFenced", err)
		}
	}
	after, _ := s.Events(ctx(t), r.ID, 0)
	if len(after) != len(before) {
		t.Errorf("stale writes reached the journal: %d events, had %d", len(after), len(before))
	}
	if got, _ := s.GetRun(ctx(t), r.ID); got.State != store.StateRunning {
		t.Errorf("stale UpdateRunState changed the state to %s", got.State)
	}
	// The new holder, writers without a lease, and the old lease on
	// another run are not fenced.
	bctx := store.WithLease(ctx(t), b)
	if _, err := s.AppendEvent(bctx, store.Event{RunID: r.ID, Kind: "host", Action: "started", Message: "b-1"}); err != nil {
		t.Errorf("AppendEvent with the new lease: %v", err)
	}
	if _, err := s.UpdateRunState(bctx, r.ID, []store.State{store.StateRunning}, store.StateSucceeded, "done"); err != nil {
		t.Errorf("UpdateRunState with the new lease: %v", err)
	}
	if _, err := s.AppendEvent(ctx(t), store.Event{RunID: r.ID, Kind: "approval", Action: "approved"}); err != nil {
		t.Errorf("AppendEvent without a lease: %v", err)
	}
	if _, err := s.AppendEvent(actx, store.Event{RunID: other.ID, Kind: "host", Action: "started"}); err != nil {
		t.Errorf("AppendEvent to another run with a lease of this one: %v", err)
	}
	evs, _ := s.Events(ctx(t), r.ID, 0)
	for i, e := range evs {
		if e.Seq != int64(i+1) {
			t.Fatalf("seqs not gapless after refused appends: position %d has %d", i, e.Seq)
		}
		if e.Message == "a-3" || e.Message == "a-n" || e.Message == "stale" {
			t.Errorf("a refused write is in the journal: %+v", e)
		}
	}
}

// testStealLease: a lease whose holder is known to be gone is taken at
// once, with the next epoch; of controllers racing to steal the same lease
// exactly one wins, and a stale expectation is refused.
func testStealLease(t *testing.T, s store.Store) {
	r := newRun(t, s, "p", "e", "1")
	a, err := s.AcquireLease(ctx(t), r.ID, "ctl-a", leaseTTL)
	if err != nil {
		t.Fatal(err)
	}
	holders := []string{"b", "c", "d", "e", "f", "g"}
	errs := race(len(holders), func(i int) error {
		_, err := s.StealLease(ctx(t), a, holders[i], leaseTTL)
		return err
	})
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, store.ErrLeaseHeld):
			t.Errorf("StealLease: %v", err)
		}
	}
	cur, err := s.GetLease(ctx(t), r.ID)
	if won != 1 || err != nil || cur.Epoch != 2 || cur.Holder == "ctl-a" {
		t.Fatalf("%d controllers stole the lease; it is %+v, %v", won, cur, err)
	}
	if _, err := s.StealLease(ctx(t), a, "late", leaseTTL); !errors.Is(err, store.ErrLeaseHeld) {
		t.Errorf("StealLease of a stale expectation: %v, want ErrLeaseHeld", err)
	}
	if _, err := s.AppendEvent(store.WithLease(ctx(t), a), store.Event{RunID: r.ID, Kind: "host", Action: "started"}); !errors.Is(err, store.ErrFenced) {
		t.Errorf("the robbed holder's append: %v, want ErrFenced", err)
	}
	_, err = s.StealLease(ctx(t), store.Lease{RunID: "r-missing"}, "x", leaseTTL)
	wantErr(t, "StealLease of a missing run", err, store.ErrNotFound)
}
