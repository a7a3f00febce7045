package engine_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golive-dev/golive/internal/engine"
	"github.com/golive-dev/golive/internal/store"
)

// backoutRenewStore counts the lease renewals made while a backout runs.
type backoutRenewStore struct {
	store.Store
	backingOut atomic.Bool
	renewals   atomic.Int64
}

func (s *backoutRenewStore) AppendEvent(ctx context.Context, e store.Event) (int64, error) {
	if e.Action == engine.ActionBackoutStarted {
		s.backingOut.Store(true)
	}
	return s.Store.AppendEvent(ctx, e)
}

func (s *backoutRenewStore) RenewLease(ctx context.Context, l store.Lease, ttl time.Duration) (store.Lease, error) {
	if s.backingOut.Load() {
		s.renewals.Add(1)
	}
	return s.Store.RenewLease(ctx, l, ttl)
}

// TestBackoutKeepsLease: a backout (which ignores aborts) still renews the
// run's lease on every heartbeat, so that a long backout is not taken
// for a dead controller's.
func TestBackoutKeepsLease(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1, `stages:
  - name: web
    on: web
    steps:
      - {name: a, run: 'true', backout: 'sleep 1.5'}
      - {name: b, run: 'exit 1', backout: 'true'}
`)
	st := &backoutRenewStore{Store: f.st}
	out := f.startWithin(f.engine(func(o *engine.Options) {
		o.Store, o.Heartbeat = st, 50*time.Millisecond
	}), 60*time.Second)
	f.wantState(out, store.StateBackedOut)
	if n := st.renewals.Load(); n < 3 {
		t.Errorf("%d lease renewals during a backout of 1.5s with a 50ms heartbeat; want at least 3", n)
	}
}
