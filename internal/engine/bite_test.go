package engine_test

// Tests that bite (issue 16): each fails on a small, realistic bug that the
// rest of the suite let through.

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golive-dev/golive/internal/clock"
	"github.com/golive-dev/golive/internal/engine"
	"github.com/golive-dev/golive/internal/store"
)

// runDeadline is how long a test run may take before the test fails
// instead of hanging until go test's timeout.
const runDeadline = 90 * time.Second

// within calls fn and returns what it returns, failing the test when it has
// not returned after d (fn goes on in the background).
func within[T any](t *testing.T, d time.Duration, fn func() (T, error)) (T, error) {
	t.Helper()
	type res struct {
		v   T
		err error
	}
	ch := make(chan res, 1)
	go func() {
		v, err := fn()
		ch <- res{v, err}
	}()
	select {
	case r := <-ch:
		return r.v, r.err
	case <-time.After(d):
		t.Fatalf("did not return within %s", d)
		var zero T
		return zero, nil
	}
}

// startWithin runs the fixture's rollout like start, but gives the run its
// own deadline: a run that does not end within d is cancelled, and one that
// does not return even then fails the test instead of hanging it.
func (f *fixture) startWithin(e *engine.Engine, d time.Duration) *engine.Outcome {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	type res struct {
		out *engine.Outcome
		err error
	}
	ch := make(chan res, 1)
	go func() {
		out, err := e.Start(ctx, engine.Request{Rollout: f.ro, Requester: "tester"})
		ch <- res{out, err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			f.t.Fatalf("Start: %v", r.err)
		}
		return r.out
	case <-time.After(d + 30*time.Second):
		f.t.Fatalf("the run did not return within %s of its deadline", 30*time.Second)
		return nil
	}
}

// TestBudgetExceededTerminatesBatchMate: h1 fails while h2, in the same
// batch, sleeps for 20s. max_failed 0 is exceeded at once: h2's step is
// terminated (its process too) and journaled as terminated, and the run
// ends (backed out) long before the sleep would have.
func TestBudgetExceededTerminatesBatchMate(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 2, `stages:
  - name: web
    on: web
    strategy: {batch: 2, max_failed: 0}
    steps:
      - name: a
        run: |
          echo a >> log
          if [ "$GOLIVE_HOST" = h1 ]; then
            i=0; while [ ! -s @ROOT@/h2/pid ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done
            echo "h1 is broken" >&2; exit 1
          fi
          echo $$ > pid
          exec sleep 20
        backout: echo undo-a >> log
`)
	start := time.Now()
	out := f.startWithin(f.engine(), 60*time.Second)
	took := time.Since(start)
	f.wantState(out, store.StateBackedOut)
	if took > 12*time.Second {
		t.Fatalf("the run took %s: h2's 20s sleep was not terminated when the budget was exceeded", took)
	}
	waitGone(t, readPID(t, filepath.Join(f.hostDir("h2"), "pid")), 5*time.Second)
	evs := f.events(out.Run.ID)
	if n := count(evs, match{kind: store.KindStep, action: store.ActionTerminated, host: "h2", step: "a"}); n != 1 {
		t.Errorf("h2 step a terminated events = %d, want 1", n)
	}
	if n := count(evs, match{kind: store.KindHost, action: store.ActionTerminated, host: "h2"}); n != 1 {
		t.Errorf("h2 host terminated events = %d, want 1", n)
	}
	if n := count(evs, match{kind: store.KindStep, action: store.ActionFinished, host: "h2"}); n != 0 {
		t.Errorf("h2 has %d finished steps, want none (it was terminated)", n)
	}
	if !strings.Contains(out.Run.Reason, "max_failed is 0") {
		t.Errorf("reason = %q, want the failure budget", out.Run.Reason)
	}
	for _, h := range []string{"h1", "h2"} {
		equal(t, h+" log", f.log(h), []string{"a", "undo-a"})
	}
}

// failAppendStore is a store whose AppendEvent fails for the events fail
// selects (each time).
type failAppendStore struct {
	store.Store
	fail func(store.Event) bool
}

var errAppendFull = errors.New("disk full (injected)")

func (s *failAppendStore) AppendEvent(ctx context.Context, e store.Event) (int64, error) {
	if s.fail(e) {
		return 0, errAppendFull
	}
	return s.Store.AppendEvent(ctx, e)
}

// TestJournalFailureStopsStep: when `step started` cannot be journaled the
// step does not run, and the run does not succeed: nothing is done that the
// journal does not know about.
func TestJournalFailureStopsStep(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1, fmt.Sprintf(twoSteps, "", "echo b >> log"))
	st := &failAppendStore{Store: f.st, fail: func(e store.Event) bool {
		return e.Kind == store.KindStep && e.Action == store.ActionStarted && e.Step == "b"
	}}
	out := f.startWithin(f.engine(func(o *engine.Options) { o.Store = st }), 60*time.Second)
	if out.Run.State == store.StateSucceeded {
		t.Fatalf("run succeeded although step b could not be journaled: %s", out.Run.Reason)
	}
	if slices.Contains(f.log("h1"), "b") {
		t.Fatalf("step b ran although its start was not journaled: log %v", f.log("h1"))
	}
	if !strings.Contains(out.Run.Reason, "journal") {
		t.Errorf("reason = %q, want the journal failure", out.Run.Reason)
	}
	evs := f.events(out.Run.ID)
	if n := count(evs, match{kind: store.KindStep, action: store.ActionFinished, step: "b"}); n != 0 {
		t.Errorf("step b finished events = %d, want 0", n)
	}
	// What was journaled (step a) is backed out.
	equal(t, "h1 log", f.log("h1"), []string{"a", "undo-a"})
}

// TestJournalFailureOfFinishedFailsRun: a step that ran but whose end
// cannot be journaled does not let the run go on to success.
func TestJournalFailureOfFinishedFailsRun(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 2, fmt.Sprintf(twoSteps, "", "echo b >> log"))
	st := &failAppendStore{Store: f.st, fail: func(e store.Event) bool {
		return e.Kind == store.KindStep && e.Action == store.ActionFinished && e.Step == "a" && e.Host == "h1"
	}}
	out := f.startWithin(f.engine(func(o *engine.Options) { o.Store = st }), 60*time.Second)
	if out.Run.State == store.StateSucceeded {
		t.Fatalf("run succeeded although a journal write failed")
	}
	if f.log("h2") != nil {
		t.Errorf("h2 (next batch) was touched: %v", f.log("h2"))
	}
	if slices.Contains(f.log("h1"), "b") {
		t.Errorf("h1 went on to step b: %v", f.log("h1"))
	}
}

// TestNewerStageBackoutFailsOlderNotRun: h1 is in stages db and web. The
// backout of web fails on h1: db's backout must not run on h1 (undoing the
// migration under the web release still applied is worse than stopping),
// and the attention list says so. h2, only in web, is backed out.
func TestNewerStageBackoutFailsOlderNotRun(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 2, `stages:
  - name: db
    on: h1
    steps:
      - {name: migrate, run: echo migrate >> log, backout: echo undo-migrate >> log}
  - name: web
    on: web
    strategy: {canary: 1}
    steps:
      - {name: a, run: echo a >> log, backout: 'echo undo-a >> log; [ "$GOLIVE_HOST" != h1 ]'}
      - {name: b, run: 'echo b >> log; [ "$GOLIVE_HOST" != h2 ]', backout: echo undo-b >> log}
`)
	out := f.startWithin(f.engine(), 60*time.Second)
	f.wantState(out, store.StateBackoutFailed)
	equal(t, "h1 log", f.log("h1"), []string{"migrate", "a", "b", "undo-b", "undo-a"})
	equal(t, "h2 log", f.log("h2"), []string{"a", "b", "undo-b", "undo-a"})
	evs := f.events(out.Run.ID)
	if n := count(evs, match{kind: store.KindStep, action: engine.ActionBackoutStarted, step: "migrate"}); n != 0 {
		t.Errorf("backout of db/migrate started %d times, want never", n)
	}
	var older bool
	for _, a := range out.Attention {
		if strings.Contains(a, "h1") && strings.Contains(a, "stage db") && strings.Contains(a, "migrate") {
			older = true
		}
	}
	if !older {
		t.Errorf("Attention = %q, want h1's stage db named as not backed out", out.Attention)
	}
	att := filter(evs, match{kind: store.KindRun, action: engine.ActionNeedsAttention})
	if !slices.ContainsFunc(att, func(e store.Event) bool { return strings.Contains(e.Message, "stage db") }) {
		t.Errorf("needs_attention events %+v, want one for stage db", att)
	}
	live, err := f.st.Live(context.Background(), "t", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := live["h1"]; ok {
		t.Errorf("h1 recorded as live on %q although its backout failed", live["h1"].Release)
	}
	if live["h2"].Release != "1.0" {
		t.Errorf("h2 live = %+v, want 1.0 (backed out)", live["h2"])
	}
}

// TestResumeFailedManualBackoutRefuses: resume of a run that failed with
// backout.automatic false refuses (it waits for `golive backout` or
// `resume --accept`) and touches nothing: no host, no journal, no state,
// the lock still the run's.
func TestResumeFailedManualBackoutRefuses(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 2, manualBackout)
	e := f.engine()
	out := f.startWithin(e, 60*time.Second)
	f.wantState(out, store.StateFailed)
	before := len(f.events(out.Run.ID))
	logs := [][]string{f.log("h1"), f.log("h2")}

	run, err := f.st.GetRun(context.Background(), out.Run.ID)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out2, err := e.Resume(ctx, run, f.ro)
	if !errors.Is(err, engine.ErrNotResumable) {
		t.Fatalf("Resume = %+v, %v; want ErrNotResumable", out2, err)
	}
	got, err := f.st.GetRun(context.Background(), run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != store.StateFailed || got.Reason != run.Reason {
		t.Errorf("run after refused resume: %s (%s), want failed (%s)", got.State, got.Reason, run.Reason)
	}
	if n := len(f.events(run.ID)); n != before {
		t.Errorf("journal grew from %d to %d events", before, n)
	}
	equal(t, "h1 log", f.log("h1"), logs[0])
	equal(t, "h2 log", f.log("h2"), logs[1])
	wantLock(t, f, run.ID)
}

// TestGateIgnoresApprovalForAnotherEnvironment: an approval recorded (through
// the store) for another environment does not pass a gate.
func TestGateIgnoresApprovalForAnotherEnvironment(t *testing.T) {
	f := gateFixture(t, "1")
	fake := clock.NewFake(day1)
	opts := func(o *engine.Options) { o.Approvals = approvers() }
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := f.clockEngine(fake, opts).Start(ctx, engine.Request{Rollout: f.ro, Requester: "alice", PlanHash: hash1})
	if err != nil {
		t.Fatal(err)
	}
	f.wantState(out, store.StatePaused)
	req := filter(f.events(out.Run.ID), match{kind: store.KindApproval, action: engine.ActionApprovalRequested})
	if len(req) != 1 || req[0].Message != "gate before stage app: waiting for 1 approval(s)" {
		t.Fatalf("approval_requested = %+v, want one without a deadline (a gate has none)", req)
	}
	if strings.Contains(out.Run.Reason, " until ") {
		t.Fatalf("reason = %q: a gate has no deadline", out.Run.Reason)
	}
	if _, err := f.st.AddApproval(ctx, store.Approval{RunID: out.Run.ID, Gate: "stage:app", Approver: "bob",
		Decision: store.DecisionApprove, PlanHash: hash1, Release: "2.0", Env: "staging"}); err != nil {
		t.Fatal(err)
	}
	out = f.resume(f.clockEngine(fake, opts), out.Run.ID)
	f.wantState(out, store.StatePaused)
	equal(t, "h2x log", f.log("h2x"), nil)

	f.approve(out.Run.ID, "stage:app", "bob", store.DecisionApprove, hash1) // this environment's
	out = f.resume(f.clockEngine(fake, opts), out.Run.ID)
	f.wantState(out, store.StateSucceeded)
	equal(t, "h2x log", f.log("h2x"), []string{"2.0"})
}

// TestHealthCheckAttemptBoundedByTimeout: a health check whose attempt
// hangs (exec sleep 20, which would exit 0) fails at its own timeout; it
// is neither reported healthy nor waited for.
func TestHealthCheckAttemptBoundedByTimeout(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1, fmt.Sprintf(twoSteps, "", "echo b >> log")+`    health:
      - name: hangs
        run: exec sleep 20
        timeout: 500ms
        interval: 100ms
backout: {verify: false}
`)
	start := time.Now()
	out := f.startWithin(f.engine(), 60*time.Second)
	if took := time.Since(start); took > 12*time.Second {
		t.Fatalf("the run took %s: the check's attempt was not bounded by its 500ms timeout", took)
	}
	f.wantState(out, store.StateBackedOut)
	fails := filter(f.events(out.Run.ID), match{kind: store.KindCheck, action: store.ActionFailed, host: "h1", step: "hangs"})
	if len(fails) != 1 || !strings.Contains(fails[0].Message, "timed out after 500ms") {
		t.Fatalf("check failed events = %+v, want one timed out after 500ms", fails)
	}
}

// TestJournalFailureDuringBackout: a backout that ran but whose end cannot
// be journaled is not taken as done: the host needs attention, the backout
// stops there and the run ends backout_failed.
func TestJournalFailureDuringBackout(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1, fmt.Sprintf(twoSteps, "", "echo b >> log; exit 1"))
	st := &failAppendStore{Store: f.st, fail: func(e store.Event) bool {
		return e.Kind == store.KindStep && e.Action == store.ActionBackedOut && e.Step == "b"
	}}
	out := f.startWithin(f.engine(func(o *engine.Options) { o.Store = st }), runDeadline)
	f.wantState(out, store.StateBackoutFailed)
	equal(t, "h1 log", f.log("h1"), []string{"a", "b", "undo-b"})
	if len(out.Attention) != 1 || !strings.Contains(out.Attention[0], "h1") || !strings.Contains(out.Attention[0], "journal") {
		t.Errorf("Attention = %q, want h1 and the journal failure", out.Attention)
	}
}

// TestAcceptNamesOnlyHalfDoneHosts: accepting a failed run names the hosts
// left half-done, not those never touched, and records the finished ones
// as live.
func TestAcceptNamesOnlyHalfDoneHosts(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 3, strings.Replace(manualBackout, "strategy: {canary: 1}", "strategy: {canary: 1, batch: 1}", 1))
	e := f.engine()
	out := f.start(e)
	f.wantState(out, store.StateFailed)
	equal(t, "h3 log", f.log("h3"), nil)
	out2, err := within(t, runDeadline, func() (*engine.Outcome, error) {
		return e.Accept(context.Background(), out.Run, f.ro, "alice")
	})
	if err != nil {
		t.Fatal(err)
	}
	f.wantState(out2, store.StateSucceeded)
	if len(out2.Attention) != 1 || !strings.HasPrefix(out2.Attention[0], "h2: left half-done") {
		t.Errorf("Attention = %q, want h2 only (h3 was never touched)", out2.Attention)
	}
}

// TestLockJournaled: a run journals taking the environment lock and, when
// it ends cleanly, releasing it.
func TestLockJournaled(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1, fmt.Sprintf(twoSteps, "", "echo b >> log"))
	out := f.start(f.engine())
	f.wantState(out, store.StateSucceeded)
	evs := f.events(out.Run.ID)
	if count(evs, match{kind: store.KindLock, action: store.ActionAcquired}) != 1 ||
		count(evs, match{kind: store.KindLock, action: store.ActionReleased}) != 1 {
		t.Errorf("lock events: want one acquired and one released, got %+v", filter(evs, match{kind: store.KindLock}))
	}
	wantNoLock(t, f)
}

// heartbeatCountingStore counts the lock heartbeats a run sends.
type heartbeatCountingStore struct {
	store.Store
	n atomic.Int64
}

func (s *heartbeatCountingStore) Heartbeat(ctx context.Context, l store.Lock) error {
	s.n.Add(1)
	return s.Store.Heartbeat(ctx, l)
}

// TestDefaultHeartbeatIsSeconds: without Options.Heartbeat a run renews
// its lock every 5 seconds, not on every poll: a step of three seconds,
// polled every 100ms, sends at most one heartbeat per 5s the run took,
// plus one.
func TestDefaultHeartbeatIsSeconds(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1, fmt.Sprintf(twoSteps, "", "sleep 3"))
	st := &heartbeatCountingStore{Store: f.st}
	start := time.Now()
	out := f.startWithin(f.engine(func(o *engine.Options) { o.Store, o.PollEvery = st, 100*time.Millisecond }), 120*time.Second)
	took := time.Since(start)
	f.wantState(out, store.StateSucceeded)
	if n, most := st.n.Load(), int64(took/(5*time.Second))+1; n > most {
		t.Errorf("%d heartbeats during a run of %s; want at most %d (one per 5s)", n, took.Round(time.Millisecond), most)
	}
}

// eventReadCountingStore counts the journal reads a run makes.
type eventReadCountingStore struct {
	store.Store
	n atomic.Int64
}

func (s *eventReadCountingStore) Events(ctx context.Context, runID string, after int64) ([]store.Event, error) {
	s.n.Add(1)
	return s.Store.Events(ctx, runID, after)
}

// TestDefaultPollIsHalfASecond: without Options.PollEvery a run looks for
// abort requests every 500ms, not in a busy loop: a step of two seconds
// reads the journal a handful of times.
func TestDefaultPollIsHalfASecond(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1, fmt.Sprintf(twoSteps, "", "sleep 2"))
	st := &eventReadCountingStore{Store: f.st}
	start := time.Now()
	out := f.startWithin(f.engine(func(o *engine.Options) { o.Store, o.PollEvery = st, 0 }), 120*time.Second)
	took := time.Since(start)
	f.wantState(out, store.StateSucceeded)
	if n, most := st.n.Load(), int64(took/(500*time.Millisecond))+10; n > most {
		t.Errorf("%d journal reads during a run of %s; want at most %d (one poll per 500ms)", n, took.Round(time.Millisecond), most)
	}
}
