package release_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/golive-dev/golive/internal/release"
	"github.com/golive-dev/golive/internal/store"
	"github.com/golive-dev/golive/internal/store/sqlite"
)

// TestAbortJudgesTheExecutorByItsLease: a run whose lock is held by a
// live process (this one: a paused or partitioned executor's pid lives
// on) but whose lease expired has no executor: abort backs it out here
// instead of asking a controller that will never answer. While the lease
// is fresh, the same run counts as executed and the abort is requested.
func TestAbortJudgesTheExecutorByItsLease(t *testing.T) {
	for _, tc := range []struct {
		name    string
		ttl     time.Duration
		request bool
	}{
		{"lease expired", time.Millisecond, false},
		{"lease fresh", time.Minute, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, approvalsPlan)
			ctx := ctxFor(t)
			res, err := f.svc.Start(ctx, release.StartOptions{Plan: f.in(), Release: "1.0", Ticket: "CHG-9", By: cli("alice")})
			if err != nil {
				t.Fatal(err)
			}
			id := res.Run.ID
			st, err := sqlite.Open(ctx, filepath.Join(f.dir, ".golive", "state.db"))
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			if _, err := st.UpdateRunState(ctx, id, []store.State{store.StateWaiting}, store.StateRunning, "released by a paused executor"); err != nil {
				t.Fatal(err)
			}
			if _, err := st.AcquireLock(ctx, store.Lock{Plan: "core", RunID: id, Holder: store.ThisHolder(), Requester: "alice"}); err != nil {
				t.Fatal(err)
			}
			if _, err := st.AcquireLease(ctx, id, "a paused executor", tc.ttl); err != nil {
				t.Fatal(err)
			}
			time.Sleep(10 * time.Millisecond)
			ab, err := f.svc.Abort(ctx, release.AbortOptions{Run: f.ref(id), By: api("bob"), Reason: "stop"})
			if tc.request {
				if err != nil || !ab.Requested || ab.Backout != nil {
					t.Fatalf("abort of a run with a fresh lease: %v, %+v; want it requested of its executor", err, ab)
				}
				return
			}
			if err != nil {
				t.Fatalf("abort: %v", err)
			}
			if ab.Requested || ab.Backout == nil || ab.Run.State != store.StateBackedOut {
				t.Fatalf("abort of a run whose lease expired: requested %v, backout %v, state %s; want it backed out here", ab.Requested, ab.Backout != nil, ab.Run.State)
			}
		})
	}
}
