package engine_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golive-dev/golive/internal/clock"
	"github.com/golive-dev/golive/internal/engine"
	"github.com/golive-dev/golive/internal/load"
	"github.com/golive-dev/golive/internal/plan"
	"github.com/golive-dev/golive/internal/review"
	"github.com/golive-dev/golive/internal/rollout"
	"github.com/golive-dev/golive/internal/store"
	"github.com/golive-dev/golive/internal/window"
)

// The release controls driven through the engine on a fake clock: the
// window closing mid-run (on_close), gates, sign-offs and WaitReady.

// tenToEleven is a window open every day 10:00-11:00 UTC.
func tenToEleven(t *testing.T) *window.Window {
	t.Helper()
	from, err1 := window.ParseHHMM("10:00")
	to, err2 := window.ParseHHMM("11:00")
	if err := errors.Join(err1, err2); err != nil {
		t.Fatal(err)
	}
	return &window.Window{Loc: time.UTC, Open: []window.Range{{From: from, To: to}}}
}

// windowPlan: three hosts, one a batch; h1 waits in its step for the file
// ROOT/go (after writing ROOT/h1-in), so the test can move the fake clock
// while batch 1 runs.
const windowPlan = `
stages:
  - name: web
    on: web
    strategy: {batch: 1}
    steps:
      - name: switch
        run: |
          if [ "$GOLIVE_HOST" = h1 ]; then
            echo in > @ROOT@/h1-in
            while [ ! -f @ROOT@/go ]; do sleep 0.02; done
          fi
          echo $GOLIVE_RELEASE >> log
        backout: echo undo >> log
`

// day1 is 10:59:30 UTC, 30s before the window closes.
var day1 = time.Date(2026, 3, 2, 10, 59, 30, 0, time.UTC)

// clockEngine returns an engine on a fake clock whose watcher sleeps an
// hour between polls and never needs a heartbeat in the test's time span.
func (f *fixture) clockEngine(fake *clock.Fake, mod ...func(*engine.Options)) *engine.Engine {
	return f.engine(append([]func(*engine.Options){func(o *engine.Options) {
		o.Clock = fake
		o.PollEvery = time.Hour
		o.Heartbeat = 1000 * time.Hour
	}}, mod...)...)
}

type result struct {
	out *engine.Outcome
	err error
}

// startAsync starts the fixture's rollout in a goroutine.
func (f *fixture) startAsync(e *engine.Engine, req engine.Request) <-chan result {
	if req.Rollout == nil {
		req.Rollout = f.ro
	}
	if req.Requester == "" {
		req.Requester = "tester"
	}
	ch := make(chan result, 1)
	go func() {
		out, err := e.Start(context.Background(), req)
		ch <- result{out, err}
	}()
	return ch
}

func (f *fixture) await(ch <-chan result) *engine.Outcome {
	f.t.Helper()
	select {
	case r := <-ch:
		if r.err != nil {
			f.t.Fatalf("Start: %v", r.err)
		}
		return r.out
	case <-time.After(20 * time.Second):
		f.t.Fatal("the run did not end")
	}
	return nil
}

// notDone fails the test when the run ended (within a short real time).
func (f *fixture) notDone(ch <-chan result, why string) {
	f.t.Helper()
	select {
	case r := <-ch:
		state := store.State("")
		if r.out != nil {
			state = r.out.Run.State
		}
		f.t.Fatalf("%s, but the run ended: %s (%v)", why, state, r.err)
	case <-time.After(150 * time.Millisecond):
	}
}

// blockUntil waits (a bounded real time) for n pending timers on fake.
func blockUntil(t *testing.T, fake *clock.Fake, n int, what string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := fake.BlockUntilContext(ctx, n); err != nil {
		t.Fatalf("engine does not wait on the clock: %s", what)
	}
}

// closeWindowDuringBatch1 waits until h1 is in its step, moves the clock
// past the window's close (11:00:30) and lets h1 go on.
func (f *fixture) closeWindowDuringBatch1(fake *clock.Fake) {
	f.t.Helper()
	waitFile(f.t, filepath.Join(f.root, "h1-in"), 10*time.Second)
	fake.Advance(time.Minute)
	if err := os.WriteFile(filepath.Join(f.root, "go"), nil, 0o644); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) lockHolder() string {
	f.t.Helper()
	l, err := f.st.GetLock(context.Background(), "t", "")
	if errors.Is(err, store.ErrNotFound) {
		return ""
	}
	if err != nil {
		f.t.Fatal(err)
	}
	return l.RunID
}

func TestWindowClosesOnCloseBackout(t *testing.T) {
	f := newFixture(t, 3, windowPlan)
	fake := clock.NewFake(day1)
	e := f.clockEngine(fake, func(o *engine.Options) { o.Window = tenToEleven(t); o.OnClose = "backout" })
	ch := f.startAsync(e, engine.Request{})
	f.closeWindowDuringBatch1(fake)
	out := f.await(ch)
	f.wantState(out, store.StateBackedOut)
	if !strings.Contains(out.Run.Reason, "release window closed") || !strings.Contains(out.Run.Reason, "next opening") {
		t.Fatalf("reason = %q, want the window error", out.Run.Reason)
	}
	equal(t, "h1 log", f.log("h1"), []string{"2.0", "undo"})
	equal(t, "h2 log", f.log("h2"), nil)
	equal(t, "h3 log", f.log("h3"), nil)
	if l := f.lockHolder(); l != "" {
		t.Fatalf("lock still held by %s after a clean backout", l)
	}
}

func TestWindowClosesOnClosePauseThenResume(t *testing.T) {
	f := newFixture(t, 3, windowPlan)
	fake := clock.NewFake(day1)
	opts := func(o *engine.Options) { o.Window = tenToEleven(t); o.OnClose = "pause" }
	e := f.clockEngine(fake, opts)
	ch := f.startAsync(e, engine.Request{})
	f.closeWindowDuringBatch1(fake)
	out := f.await(ch)
	f.wantState(out, store.StatePaused)
	if !strings.Contains(out.Run.Reason, "release window") {
		t.Fatalf("reason = %q, want the window", out.Run.Reason)
	}
	if l := f.lockHolder(); l != out.Run.ID {
		t.Fatalf("lock holder = %q, want the paused run %s", l, out.Run.ID)
	}
	equal(t, "h1 log", f.log("h1"), []string{"2.0"})
	equal(t, "h2 log", f.log("h2"), nil)

	// Resumed while the window is still closed: paused again, nothing done.
	fake.Advance(time.Hour) // 12:00:30
	run, _ := f.st.GetRun(context.Background(), out.Run.ID)
	out, err := f.clockEngine(fake, opts).Resume(context.Background(), run, f.ro)
	if err != nil {
		t.Fatal(err)
	}
	f.wantState(out, store.StatePaused)
	equal(t, "h2 log", f.log("h2"), nil)

	// The next opening: resume finishes the rollout; h1 is not run again.
	fake.Set(time.Date(2026, 3, 3, 10, 0, 0, 0, time.UTC))
	run, _ = f.st.GetRun(context.Background(), out.Run.ID)
	out, err = f.clockEngine(fake, opts).Resume(context.Background(), run, f.ro)
	if err != nil {
		t.Fatal(err)
	}
	f.wantState(out, store.StateSucceeded)
	equal(t, "h1 log", f.log("h1"), []string{"2.0"})
	equal(t, "h2 log", f.log("h2"), []string{"2.0"})
	equal(t, "h3 log", f.log("h3"), []string{"2.0"})
	if l := f.lockHolder(); l != "" {
		t.Fatalf("lock still held by %s after success", l)
	}
}

func TestWindowClosesOnClosePauseWaits(t *testing.T) {
	f := newFixture(t, 3, windowPlan)
	fake := clock.NewFake(day1)
	e := f.clockEngine(fake, func(o *engine.Options) { o.Window = tenToEleven(t); o.OnClose = "pause"; o.Wait = true })
	ch := f.startAsync(e, engine.Request{})
	f.closeWindowDuringBatch1(fake)
	// The watcher's sleep and the sleep until the next opening.
	blockUntil(t, fake, 2, "until the window opens")
	f.notDone(ch, "the window is closed")
	equal(t, "h2 log", f.log("h2"), nil)
	runs, _ := f.st.ListRuns(context.Background(), store.RunFilter{Plan: "t"})
	if len(runs) != 1 {
		t.Fatalf("runs = %d", len(runs))
	}
	evs := f.events(runs[0].ID)
	if count(evs, match{kind: store.KindRun, action: engine.ActionPaused}) != 1 {
		t.Fatalf("no paused event in the journal while waiting for the window")
	}
	fake.Advance(22*time.Hour + 59*time.Minute) // 09:59:30 the next day: still closed
	blockUntil(t, fake, 2, "until the window opens")
	f.notDone(ch, "the window opens at 10:00")
	fake.Advance(time.Minute) // 10:00:30
	out := f.await(ch)
	f.wantState(out, store.StateSucceeded)
	equal(t, "h3 log", f.log("h3"), []string{"2.0"})
}

func TestWindowClosesOnCloseFinish(t *testing.T) {
	f := newFixture(t, 3, windowPlan)
	fake := clock.NewFake(day1)
	e := f.clockEngine(fake, func(o *engine.Options) { o.Window = tenToEleven(t); o.OnClose = "finish" })
	ch := f.startAsync(e, engine.Request{})
	f.closeWindowDuringBatch1(fake)
	out := f.await(ch)
	f.wantState(out, store.StateSucceeded)
	for _, h := range []string{"h1", "h2", "h3"} {
		equal(t, h+" log", f.log(h), []string{"2.0"})
	}
	evs := f.events(out.Run.ID)
	if n := count(evs, match{kind: store.KindRun, action: "window_closed"}); n != 1 {
		t.Fatalf("window_closed events = %d, want 1 (noted once, not per batch)", n)
	}
}

// reviewPlan loads a plan text (its hosts in a temp dir) for review.Pending.
func loadPlan(t *testing.T, text string) (*plan.Plan, *rollout.Rollout) {
	t.Helper()
	dir := t.TempDir()
	file := filepath.Join(dir, "golive.yaml")
	if err := os.WriteFile(file, []byte(strings.ReplaceAll(text, "@ROOT@", dir)), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := load.Load(load.Options{File: file})
	if err != nil || res.Diags.HasErrors() {
		t.Fatalf("load: %v %v", err, res.Diags.Errors())
	}
	ro, err := rollout.Build(rollout.Input{Plan: res.Plan, Release: "2.0"})
	if err != nil {
		t.Fatal(err)
	}
	return res.Plan, ro
}

const pendingPlan = `golive: 1
name: p
targets:
  hosts:
    h1: {transport: local, dir: @ROOT@/h1, roles: [web]}
window:
  open:
    - {from: "12:00", to: "13:00"}
stages:
  - name: web
    on: web
    steps:
      - {name: s, run: 'true', backout: 'true'}
`

// TestWaitReadyUntilWindowOpens: run --wait's loop, polling review.Pending
// on the engine's clock, returns when the window opens.
func TestWaitReadyUntilWindowOpens(t *testing.T) {
	p, ro := loadPlan(t, pendingPlan)
	f := newFixture(t, 1, confirmPlan)
	fake := clock.NewFake(time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC))
	e := f.clockEngine(fake)
	ctx := context.Background()
	polls := 0
	ready := func(now time.Time) (bool, bool, *time.Time, string) {
		polls++
		rep := review.Pending(ctx, review.Input{Plan: p, Rollout: ro, Store: f.st, Now: now})
		return rep.Go, rep.WaitOnly, rep.NextOpen, strings.Join(rep.Reasons, "; ")
	}
	done := make(chan error, 1)
	go func() { done <- e.WaitReady(ctx, ready) }()
	blockUntil(t, fake, 1, "WaitReady")
	select {
	case err := <-done:
		t.Fatalf("WaitReady returned %v while the window is closed", err)
	case <-time.After(100 * time.Millisecond):
	}
	fake.Advance(2 * time.Hour)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("WaitReady = %v once the window is open", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("WaitReady still waits after the window opened")
	}
	if polls != 2 {
		t.Errorf("polls = %d, want 2", polls)
	}
}

func TestWaitReadyNoGoIsAnError(t *testing.T) {
	f := newFixture(t, 1, confirmPlan)
	fake := clock.NewFake(time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC))
	e := f.clockEngine(fake)
	ctx := context.Background()

	// A freeze that never ends in the horizon: not worth waiting for.
	p, ro := loadPlan(t, strings.Replace(pendingPlan, "  open:\n    - {from: \"12:00\", to: \"13:00\"}\n",
		"  freeze:\n    - {from: 2000-01-01T00:00, to: 2999-01-01T00:00, reason: forever}\n", 1))
	err := e.WaitReady(ctx, func(now time.Time) (bool, bool, *time.Time, string) {
		rep := review.Pending(ctx, review.Input{Plan: p, Rollout: ro, Store: f.st, Now: now})
		return rep.Go, rep.WaitOnly, rep.NextOpen, strings.Join(rep.Reasons, "; ")
	})
	if err == nil || !strings.Contains(err.Error(), "forever") {
		t.Fatalf("WaitReady = %v, want a no-go naming the freeze", err)
	}

	// A rejected run: approvals never come.
	p, ro = loadPlan(t, strings.Replace(pendingPlan, "window:\n  open:\n    - {from: \"12:00\", to: \"13:00\"}\n",
		"controls:\n  approvals: {required: 1}\n", 1))
	run, err := f.st.CreateRun(ctx, store.Run{Plan: "p", Release: "2.0", State: store.StateWaiting, Requester: "rita", PlanHash: "h"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.st.AddApproval(ctx, store.Approval{RunID: run.ID, Approver: "bob", Decision: store.DecisionReject, Comment: "no", PlanHash: "h", Release: "2.0"}); err != nil {
		t.Fatal(err)
	}
	err = e.WaitReady(ctx, func(now time.Time) (bool, bool, *time.Time, string) {
		rep := review.Pending(ctx, review.Input{Plan: p, Rollout: ro, Store: f.st, Now: now, Run: &run, PlanHash: "h"})
		return rep.Go, rep.WaitOnly, rep.NextOpen, strings.Join(rep.Reasons, "; ")
	})
	if err == nil || !strings.Contains(err.Error(), "rejected by bob") {
		t.Fatalf("WaitReady = %v, want a no-go naming the rejection", err)
	}
}

// gatePlan: stage db on h1, then stage web on h2 behind a gate.
const gatePlan = `    h2x: {dir: @ROOT@/h2x, roles: [app]}
stages:
  - name: db
    on: web
    steps:
      - {name: s, run: 'echo $GOLIVE_RELEASE >> log', backout: 'echo undo >> log'}
  - name: app
    on: app
    gate: {approvals: @N@}
    steps:
      - {name: s, run: 'echo $GOLIVE_RELEASE >> log', backout: 'echo undo >> log'}
`

func gateFixture(t *testing.T, n string) *fixture {
	return newFixture(t, 1, strings.ReplaceAll(gatePlan, "@N@", n))
}

func approvers() *plan.Approvals {
	no := false
	return &plan.Approvals{Required: 1, Approvers: []string{"alice", "bob", "carol"}, AllowSelf: &no}
}

const hash1 = "hash-1"

// approve records who's decision as made at the CLI by an OS user of
// the same name (the requester's OS user is this process's).
func (f *fixture) approve(runID, gate, who string, d store.Decision, hash string) {
	f.t.Helper()
	_, err := f.st.AddApproval(context.Background(), store.Approval{RunID: runID, Gate: gate, Approver: who, Decision: d,
		Via: store.ViaCLI, OSUser: who, Comment: "c-" + who, PlanHash: hash, Release: "2.0"})
	if err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) resume(e *engine.Engine, runID string) *engine.Outcome {
	f.t.Helper()
	run, err := f.st.GetRun(context.Background(), runID)
	if err != nil {
		f.t.Fatal(err)
	}
	out, err := within(f.t, runDeadline, func() (*engine.Outcome, error) { return e.Resume(context.Background(), run, f.ro) })
	if err != nil {
		f.t.Fatalf("Resume: %v", err)
	}
	return out
}

func TestGatePausesThenApprovalResumes(t *testing.T) {
	f := gateFixture(t, "1")
	fake := clock.NewFake(day1)
	opts := func(o *engine.Options) { o.Approvals = approvers() }
	out, err := f.clockEngine(fake, opts).Start(context.Background(), engine.Request{Rollout: f.ro, Requester: "alice", PlanHash: hash1})
	if err != nil {
		t.Fatal(err)
	}
	f.wantState(out, store.StatePaused)
	if !strings.Contains(out.Run.Reason, "gate before stage app") {
		t.Fatalf("reason = %q", out.Run.Reason)
	}
	equal(t, "h1 log", f.log("h1"), []string{"2.0"})
	equal(t, "h2x log", f.log("h2x"), nil)
	if l := f.lockHolder(); l != out.Run.ID {
		t.Fatalf("lock holder = %q, want the paused run", l)
	}
	if n := count(f.events(out.Run.ID), match{kind: store.KindApproval, action: engine.ActionApprovalRequested, step: "stage:app"}); n != 1 {
		t.Fatalf("approval_requested events = %d", n)
	}
	f.approve(out.Run.ID, "stage:app", "bob", store.DecisionApprove, hash1)
	out = f.resume(f.clockEngine(fake, opts), out.Run.ID)
	f.wantState(out, store.StateSucceeded)
	equal(t, "h1 log", f.log("h1"), []string{"2.0"})
	equal(t, "h2x log", f.log("h2x"), []string{"2.0"})
	if n := count(f.events(out.Run.ID), match{kind: store.KindApproval, action: engine.ActionGatePassed, step: "stage:app"}); n != 1 {
		t.Fatalf("gate_passed events = %d", n)
	}
}

// TestGateWaitsIgnoringApprovalsThatDoNotCount: with Wait the run blocks
// at the gate; approvals that do not count keep it blocked; a valid one
// from another goroutine lets it go on.
func TestGateWaitsIgnoringApprovalsThatDoNotCount(t *testing.T) {
	f := gateFixture(t, "2")
	fake := clock.NewFake(day1)
	e := f.clockEngine(fake, func(o *engine.Options) { o.Approvals = approvers(); o.Wait = true })
	ch := f.startAsync(e, engine.Request{Requester: "alice", PlanHash: hash1})
	blockUntil(t, fake, 2, "at the gate") // the watcher and the gate's poll
	f.notDone(ch, "the gate has no approval")
	equal(t, "h2x log", f.log("h2x"), nil)
	runs, _ := f.st.ListRuns(context.Background(), store.RunFilter{Plan: "t"})
	id := runs[0].ID
	if runs[0].State != store.StateRunning {
		t.Fatalf("state while waiting at a gate = %s", runs[0].State)
	}

	// The run blocks on the fake clock: approvals recorded now are all
	// there when it looks again (no sleep to guess how long that takes).
	f.approve(id, "stage:app", "mallory", store.DecisionApprove, hash1) // not an approver
	f.approve(id, "stage:app", "alice", store.DecisionApprove, hash1)   // the requester, allow_self false
	f.approve(id, "stage:app", "bob", store.DecisionApprove, hash1)
	f.approve(id, "stage:app", "bob", store.DecisionApprove, hash1)      // counts once
	f.approve(id, "stage:app", "carol", store.DecisionApprove, "hash-2") // plan changed after approval
	f.approve(id, "", "carol", store.DecisionApprove, hash1)             // another gate
	all, _ := f.st.ListApprovals(context.Background(), id)
	if len(all) != 6 {
		t.Fatalf("approvals recorded = %d", len(all))
	}
	fake.Advance(time.Hour) // the gate polls again
	blockUntil(t, fake, 2, "still at the gate")
	f.notDone(ch, "only bob's approval counts, 2 are needed")
	equal(t, "h2x log", f.log("h2x"), nil)

	f.approve(id, "stage:app", "carol", store.DecisionApprove, hash1)
	fake.Advance(time.Hour)
	out := f.await(ch)
	f.wantState(out, store.StateSucceeded)
	equal(t, "h2x log", f.log("h2x"), []string{"2.0"})
	passed := filter(f.events(id), match{kind: store.KindApproval, action: engine.ActionGatePassed})
	if len(passed) != 1 || !strings.Contains(passed[0].Message, "2/2 approvals (bob, carol)") {
		t.Fatalf("gate_passed = %+v", passed)
	}
}

func TestGateRejectedBacksOut(t *testing.T) {
	for _, wait := range []bool{false, true} {
		t.Run(map[bool]string{false: "resume", true: "wait"}[wait], func(t *testing.T) {
			f := gateFixture(t, "1")
			fake := clock.NewFake(day1)
			opts := func(o *engine.Options) { o.Approvals = approvers(); o.Wait = wait }
			ch := f.startAsync(f.clockEngine(fake, opts), engine.Request{Requester: "alice", PlanHash: hash1})
			var out *engine.Outcome
			if wait {
				blockUntil(t, fake, 2, "at the gate")
				runs, _ := f.st.ListRuns(context.Background(), store.RunFilter{Plan: "t"})
				f.approve(runs[0].ID, "stage:app", "bob", store.DecisionReject, hash1)
				fake.Advance(time.Hour)
				out = f.await(ch)
			} else {
				out = f.await(ch)
				f.wantState(out, store.StatePaused)
				f.approve(out.Run.ID, "stage:app", "bob", store.DecisionReject, hash1)
				out = f.resume(f.clockEngine(fake, opts), out.Run.ID)
			}
			f.wantState(out, store.StateBackedOut)
			if !strings.Contains(out.Run.Reason, "gate before stage app rejected by bob: c-bob") {
				t.Fatalf("reason = %q", out.Run.Reason)
			}
			equal(t, "h1 log", f.log("h1"), []string{"2.0", "undo"})
			equal(t, "h2x log", f.log("h2x"), nil)
		})
	}
}

// confirmPlan: one stage, then verify with a sign-off of 1 within 30m.
const confirmPlan = `stages:
  - name: web
    on: web
    steps:
      - {name: s, run: 'echo $GOLIVE_RELEASE >> log', backout: 'echo undo >> log'}
verify:
  - {name: ok, run: 'true', local: true}
  - confirm: {approvals: 1, timeout: 30m}
`

func TestSignOffAccepted(t *testing.T) {
	f := newFixture(t, 1, confirmPlan)
	fake := clock.NewFake(day1)
	opts := func(o *engine.Options) { o.Approvals = approvers() }
	out, err := f.clockEngine(fake, opts).Start(context.Background(), engine.Request{Rollout: f.ro, Requester: "alice", PlanHash: hash1})
	if err != nil {
		t.Fatal(err)
	}
	f.wantState(out, store.StatePaused)
	if !strings.Contains(out.Run.Reason, "sign-off") {
		t.Fatalf("reason = %q", out.Run.Reason)
	}
	fake.Advance(10 * time.Minute)
	f.approveAt(out.Run.ID, "verify", "bob", store.DecisionApprove, hash1, fake.Now())
	out = f.resume(f.clockEngine(fake, opts), out.Run.ID)
	f.wantState(out, store.StateSucceeded)
	equal(t, "h1 log", f.log("h1"), []string{"2.0"})
	if n := count(f.events(out.Run.ID), match{kind: store.KindCheck, action: store.ActionStarted, step: "ok"}); n != 1 {
		t.Fatalf("verify check ran %d times, want once (not again on resume)", n)
	}
}

func TestSignOffRejected(t *testing.T) {
	f := newFixture(t, 1, confirmPlan)
	fake := clock.NewFake(day1)
	opts := func(o *engine.Options) { o.Approvals = approvers() }
	out, err := f.clockEngine(fake, opts).Start(context.Background(), engine.Request{Rollout: f.ro, Requester: "alice", PlanHash: hash1})
	if err != nil {
		t.Fatal(err)
	}
	f.wantState(out, store.StatePaused)
	f.approveAt(out.Run.ID, "verify", "bob", store.DecisionReject, hash1, fake.Now())
	out = f.resume(f.clockEngine(fake, opts), out.Run.ID)
	f.wantState(out, store.StateBackedOut)
	if !strings.Contains(out.Run.Reason, "sign-off rejected by bob: c-bob") {
		t.Fatalf("reason = %q", out.Run.Reason)
	}
	equal(t, "h1 log", f.log("h1"), []string{"2.0", "undo"})
}

func TestSignOffTimesOutWhileWaiting(t *testing.T) {
	f := newFixture(t, 1, confirmPlan)
	fake := clock.NewFake(day1)
	e := f.clockEngine(fake, func(o *engine.Options) { o.Approvals = approvers(); o.Wait = true })
	ch := f.startAsync(e, engine.Request{Requester: "alice", PlanHash: hash1})
	blockUntil(t, fake, 2, "at the sign-off")
	f.notDone(ch, "the sign-off has not timed out")
	fake.Advance(29 * time.Minute)
	blockUntil(t, fake, 2, "at the sign-off")
	f.notDone(ch, "29m < 30m")
	fake.Advance(time.Minute)
	out := f.await(ch)
	f.wantState(out, store.StateBackedOut)
	if !strings.Contains(out.Run.Reason, "timed out after 30m") {
		t.Fatalf("reason = %q", out.Run.Reason)
	}
	equal(t, "h1 log", f.log("h1"), []string{"2.0", "undo"})
}

func TestSignOffTimedOutAtResume(t *testing.T) {
	f := newFixture(t, 1, confirmPlan)
	fake := clock.NewFake(day1)
	opts := func(o *engine.Options) { o.Approvals = approvers() }
	out, err := f.clockEngine(fake, opts).Start(context.Background(), engine.Request{Rollout: f.ro, Requester: "alice", PlanHash: hash1})
	if err != nil {
		t.Fatal(err)
	}
	f.wantState(out, store.StatePaused)
	fake.Advance(31 * time.Minute)
	out = f.resume(f.clockEngine(fake, opts), out.Run.ID)
	f.wantState(out, store.StateBackedOut)
	if !strings.Contains(out.Run.Reason, "timed out after 30m") {
		t.Fatalf("reason = %q", out.Run.Reason)
	}
	equal(t, "h1 log", f.log("h1"), []string{"2.0", "undo"})
}
