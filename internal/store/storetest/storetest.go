package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/golive-dev/golive/internal/store"
)

// Opener returns a new, empty store for one test and arranges (with
// t.Cleanup) for it to be closed and removed.
type Opener func(t *testing.T) store.Store

// Run runs the conformance suite against the stores open returns. Each
// subtest gets its own store.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"CreateRun", testCreateRun},
		{"CreateRunInvalid", testCreateRunInvalid},
		{"GetRunNotFound", testGetRunNotFound},
		{"ListRuns", testListRuns},
		{"LatestRun", testLatestRun},
		{"UpdateRunState", testUpdateRunState},
		{"UpdateRunStateTimes", testUpdateRunStateTimes},
		{"UpdateRunStateRace", testUpdateRunStateRace},
		{"AppendEvent", testAppendEvent},
		{"AppendEventInvalid", testAppendEventInvalid},
		{"EventsAfter", testEventsAfter},
		{"EventOutputTail", testEventOutputTail},
		{"AppendEventConcurrent", testAppendEventConcurrent},
		{"AppendEventCanceled", testAppendEventCanceled},
		{"AppendEventConcurrentRuns", testAppendEventConcurrentRuns},
		{"Live", testLive},
		{"PreviousRelease", testPreviousRelease},
		{"Lock", testLock},
		{"LockHeartbeat", testLockHeartbeat},
		{"LockRelease", testLockRelease},
		{"StealLock", testStealLock},
		{"LockPIDSpace", testLockPIDSpace},
		{"AcquireLockRace", testAcquireLockRace},
		{"StealLockRace", testStealLockRace},
		{"Approvals", testApprovals},
		{"Lease", testLease},
		{"LeaseInvalid", testLeaseInvalid},
		{"LeaseExpiry", testLeaseExpiry},
		{"LeaseRace", testLeaseRace},
		{"StealLease", testStealLease},
		{"Fencing", testFencing},
		{"FollowEvents", testFollowEvents},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.fn(t, open(t))
		})
	}
}

// ctx returns a context for one test, canceled when it ends.
func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(t.Context(), time.Minute)
	t.Cleanup(cancel)
	return c
}

// newRun creates a run of plan in env with release rel.
func newRun(t *testing.T, s store.Store, plan, env, rel string) store.Run {
	t.Helper()
	r, err := s.CreateRun(ctx(t), store.Run{Plan: plan, Env: env, Release: rel, Requester: "alice"})
	if err != nil {
		t.Fatalf("CreateRun: %v", err)
	}
	return r
}

// setState moves r to state to, whatever its state.
func setState(t *testing.T, s store.Store, id string, to store.State) store.Run {
	t.Helper()
	r, err := s.UpdateRunState(ctx(t), id, store.States, to, "test")
	if err != nil {
		t.Fatalf("UpdateRunState(%s, %s): %v", id, to, err)
	}
	return r
}

// wantErr fails t unless errors.Is(err, target) (or err is nil when target
// is nil).
func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if target == nil && err != nil || target != nil && !errors.Is(err, target) {
		t.Fatalf("%s: error %v, want %v", what, err, target)
	}
}

// race runs fn(i) in n goroutines started together and returns their errors.
func race(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	var start, done sync.WaitGroup
	start.Add(1)
	for i := range n {
		done.Go(func() {
			start.Wait()
			errs[i] = fn(i)
		})
	}
	start.Done()
	done.Wait()
	return errs
}

// recent fails t unless got is within a minute of now (stores use their own
// clock).
func recent(t *testing.T, what string, got time.Time) {
	t.Helper()
	if d := time.Since(got); got.IsZero() || d < -time.Minute || d > time.Minute {
		t.Errorf("%s = %v, want about now", what, got)
	}
	if got.Location() != time.UTC {
		t.Errorf("%s location = %v, want UTC", what, got.Location())
	}
}

func ids(runs []store.Run) []string {
	out := make([]string, len(runs))
	for i, r := range runs {
		out[i] = r.ID
	}
	return out
}

func fmtErrs(errs []error) string { return fmt.Sprintf("%v", errs) }

// norm returns r with its times in a canonical form, so that runs compare
// with == whatever the implementation's representation of a time.
func norm(r store.Run) store.Run {
	for _, t := range []*time.Time{&r.CreatedAt, &r.UpdatedAt, &r.StartedAt, &r.FinishedAt} {
		*t = normTime(*t)
	}
	return r
}

func normTime(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return time.UnixMicro(t.UnixMicro()).UTC()
}
