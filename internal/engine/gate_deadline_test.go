package engine_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/golive-dev/golive/internal/clock"
	"github.com/golive-dev/golive/internal/engine"
	"github.com/golive-dev/golive/internal/store"
)

// approveAt records a decision at a given time (the store's clock is the
// real one; the engine's is fake).
func (f *fixture) approveAt(runID, gate, who string, d store.Decision, hash string, at time.Time) {
	f.t.Helper()
	_, err := f.st.AddApproval(context.Background(), store.Approval{RunID: runID, Gate: gate, Approver: who, Decision: d,
		Via: store.ViaCLI, OSUser: who, Comment: "c-" + who, PlanHash: hash, Release: "2.0", Time: at})
	if err != nil {
		f.t.Fatal(err)
	}
}

// TestSignOffApprovalAfterDeadlineDoesNotCount: the run paused at a
// sign-off of 30m; an approval recorded 31m later, before anyone resumed,
// does not count: resume finds the sign-off timed out and backs out.
func TestSignOffApprovalAfterDeadlineDoesNotCount(t *testing.T) {
	f := newFixture(t, 1, confirmPlan)
	fake := clock.NewFake(day1)
	opts := func(o *engine.Options) { o.Approvals = approvers() }
	out, err := f.clockEngine(fake, opts).Start(context.Background(), engine.Request{Rollout: f.ro, Requester: "alice", PlanHash: hash1})
	if err != nil {
		t.Fatal(err)
	}
	f.wantState(out, store.StatePaused)
	fake.Advance(31 * time.Minute)
	f.approveAt(out.Run.ID, "verify", "bob", store.DecisionApprove, hash1, fake.Now())
	out = f.resume(f.clockEngine(fake, opts), out.Run.ID)
	f.wantState(out, store.StateBackedOut)
	if !strings.Contains(out.Run.Reason, "timed out after 30m0s with 0/1 approvals") {
		t.Fatalf("reason = %q", out.Run.Reason)
	}
	equal(t, "h1 log", f.log("h1"), []string{"2.0", "undo"})
}

// TestSignOffApprovalJustBeforeDeadlineCounts: the same approval a
// minute before the deadline counts, even when resume comes later.
func TestSignOffApprovalJustBeforeDeadlineCounts(t *testing.T) {
	f := newFixture(t, 1, confirmPlan)
	fake := clock.NewFake(day1)
	opts := func(o *engine.Options) { o.Approvals = approvers() }
	out, err := f.clockEngine(fake, opts).Start(context.Background(), engine.Request{Rollout: f.ro, Requester: "alice", PlanHash: hash1})
	if err != nil {
		t.Fatal(err)
	}
	f.wantState(out, store.StatePaused)
	fake.Advance(29 * time.Minute)
	f.approveAt(out.Run.ID, "verify", "bob", store.DecisionApprove, hash1, fake.Now())
	fake.Advance(5 * time.Minute)
	out = f.resume(f.clockEngine(fake, opts), out.Run.ID)
	f.wantState(out, store.StateSucceeded)
}
