package engine_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golive-dev/golive/internal/artifact"
	"github.com/golive-dev/golive/internal/clock"
	"github.com/golive-dev/golive/internal/engine"
	"github.com/golive-dev/golive/internal/store"
)

// TestAbortNoBackoutDuringVerify: an abort without backout that arrives
// while a verify check runs stops the run for the abort's reason (the
// check's own failure is only its consequence): failed, no backout, the
// reason the operator's.
func TestAbortNoBackoutDuringVerify(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1, `stages:
  - name: web
    on: web
    steps:
      - {name: a, run: echo a >> log, backout: echo undo-a >> log}
verify:
  - name: smoke
    local: true
    run: echo $$ > @ROOT@/verify.pid; exec sleep 30
    timeout: 60s
`)
	c, done := startAsync(t, f, f.engine(func(o *engine.Options) { o.PollEvery = 50 * time.Millisecond }), 0)
	run := created(t, c)
	pidFile := filepath.Join(f.root, "verify.pid")
	waitFile(t, pidFile, 10*time.Second)
	if err := engine.RequestAbort(context.Background(), f.openStore(), run.ID, "bob", "looks wrong", true); err != nil {
		t.Fatal(err)
	}
	var out *engine.Outcome
	select {
	case out = <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("run did not stop after the abort")
	}
	waitGone(t, readPID(t, pidFile), 5*time.Second)
	f.wantState(out, store.StateFailed)
	if !strings.Contains(out.Run.Reason, "aborted by bob") || !strings.Contains(out.Run.Reason, "(no backout)") {
		t.Errorf("reason = %q, want bob's abort without backout", out.Run.Reason)
	}
	equal(t, "log", f.log("h1"), []string{"a"})
	if n := count(f.events(out.Run.ID), match{kind: store.KindStep, action: engine.ActionBackoutStarted}); n != 0 {
		t.Errorf("%d backouts started, want none", n)
	}
}

// TestAbandonedBackout: the operator abandons a backout while a step's
// backout runs: that script is terminated and journaled as abandoned (not
// as an ordinary failure), nothing more is backed out, and the run is left
// backing_out for `golive backout` to finish.
func TestAbandonedBackout(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1, `stages:
  - name: web
    on: web
    steps:
      - {name: a, run: echo a >> log, backout: echo undo-a >> log}
      - name: b
        run: echo b >> log
        backout: echo $$ > bo.pid; echo undo-b >> log; exec sleep 30
      - {name: c, run: echo c >> log; exit 1}
`)
	abandon := make(chan struct{})
	e := f.engine(func(o *engine.Options) { o.Abandon = abandon })
	type result struct {
		out *engine.Outcome
		err error
	}
	done := make(chan result, 1)
	go func() {
		out, err := e.Start(context.Background(), engine.Request{Rollout: f.ro, Requester: "tester"})
		done <- result{out, err}
	}()
	pidFile := filepath.Join(f.hostDir("h1"), "bo.pid")
	waitFile(t, pidFile, 20*time.Second)
	close(abandon)
	var r result
	select {
	case r = <-done:
	case <-time.After(10 * time.Second): // it ends at once; the script sleeps 30s
		t.Fatal("the run did not end after the backout was abandoned")
	}
	waitGone(t, readPID(t, pidFile), 5*time.Second)
	var ab *engine.BackoutAbandonedError
	if !errors.As(r.err, &ab) || r.out == nil {
		t.Fatalf("Start = %+v, %v; want a BackoutAbandonedError", r.out, r.err)
	}
	f.wantState(r.out, store.StateBackingOut)
	equal(t, "log", f.log("h1"), []string{"a", "b", "c", "undo-b"})
	evs := f.events(r.out.Run.ID)
	failed := filter(evs, match{kind: store.KindStep, action: store.ActionBackoutFailed, step: "b"})
	if want := "terminated: backout abandoned by the operator"; len(failed) != 1 || failed[0].Message != want {
		t.Errorf("step b backout_failed events = %+v, want one %q", failed, want)
	}
	if n := count(evs, match{kind: store.KindRun, action: engine.ActionBackoutAbandoned}); n != 1 {
		t.Errorf("%d backout_abandoned events, want 1", n)
	}
}

// TestWaitReadyPauses: run --wait's loop looks again after 2s when ready
// names no time, and no sooner than 10ms after when the time it names has
// come already (no spinning); on the engine's clock.
func TestWaitReadyPauses(t *testing.T) {
	f := newFixture(t, 1, confirmPlan)
	fake := clock.NewFake(time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC))
	e := f.clockEngine(fake)
	var polls atomic.Int32
	ready := func(now time.Time) (bool, bool, *time.Time, string) {
		switch polls.Add(1) {
		case 1:
			return false, true, nil, "not yet" // look again in a while
		case 2:
			return false, true, &now, "now, it says" // due already
		}
		return true, false, nil, ""
	}
	done := make(chan error, 1)
	go func() { done <- e.WaitReady(context.Background(), ready) }()
	// waiting checks that WaitReady sleeps on the clock after poll n and
	// does not wake before the clock has moved by d.
	waiting := func(n int32, d time.Duration) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for fake.Waiters() != 1 {
			select {
			case err := <-done:
				t.Fatalf("WaitReady returned (%v) after %d polls without waiting on the clock", err, polls.Load())
			case <-time.After(time.Millisecond):
			}
			if time.Now().After(deadline) {
				t.Fatalf("WaitReady does not wait on the clock after poll %d", n)
			}
		}
		fake.Advance(d - time.Nanosecond)
		select {
		case err := <-done:
			t.Fatalf("WaitReady returned (%v) before %s had passed", err, d)
		case <-time.After(50 * time.Millisecond):
		}
		if got := polls.Load(); got != n {
			t.Fatalf("polls = %d before %s had passed, want %d", got, d, n)
		}
		fake.Advance(time.Nanosecond)
	}
	waiting(1, 2*time.Second)
	waiting(2, 10*time.Millisecond)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("WaitReady = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("WaitReady still waits after ready said go")
	}
	if got := polls.Load(); got != 3 {
		t.Errorf("polls = %d, want 3", got)
	}
}

// TestOnlyPrepareSteps: a stage whose steps are all prepare steps (a
// download-only release) is prepared ahead batch after batch and ends;
// every host ran each step once.
func TestOnlyPrepareSteps(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 3, `stages:
  - name: web
    on: web
    strategy: {canary: 1, batch: 1}
    steps:
      - {name: fetch, prepare: true, run: echo fetch >> log, backout: echo undo-fetch >> log}
      - {name: unpack, prepare: true, run: echo unpack >> log, backout: echo undo-unpack >> log}
`)
	out := f.start(f.engine())
	f.wantState(out, store.StateSucceeded)
	for _, h := range []string{"h1", "h2", "h3"} {
		equal(t, h+" log", f.log(h), []string{"fetch", "unpack"})
	}
}

// TestAbortWhileWaitingForWindow: a run that waits for the release
// window to open again (on_close pause, --wait) is aborted: it stops
// waiting and backs out at once, for the abort's reason.
func TestAbortWhileWaitingForWindow(t *testing.T) {
	f := newFixture(t, 3, windowPlan)
	fake := clock.NewFake(day1)
	e := f.clockEngine(fake, func(o *engine.Options) { o.Window = tenToEleven(t); o.OnClose = "pause"; o.Wait = true })
	ch := f.startAsync(e, engine.Request{})
	f.closeWindowDuringBatch1(fake)
	blockUntil(t, fake, 2, "the watcher, and the wait until the window opens") // 23h away
	runs, err := f.st.ListRuns(context.Background(), store.RunFilter{Plan: "t"})
	if err != nil || len(runs) != 1 {
		t.Fatalf("runs = %d, %v", len(runs), err)
	}
	if err := engine.RequestAbort(context.Background(), f.openStore(), runs[0].ID, "bob", "not today", false); err != nil {
		t.Fatal(err)
	}
	fake.Advance(time.Hour) // the watcher looks (PollEvery 1h); the window stays closed
	out := f.await(ch)
	f.wantState(out, store.StateBackedOut)
	if !strings.Contains(out.Run.Reason, "aborted by bob") {
		t.Errorf("reason = %q, want bob's abort", out.Run.Reason)
	}
	equal(t, "h1 log", f.log("h1"), []string{"2.0", "undo"})
	equal(t, "h2 log", f.log("h2"), nil)
}

// TestBackoutOfSucceededRunTakesLease: backing out a run that succeeded
// (its lock and lease released) takes the lock again and a lease with a
// new epoch, which fences any earlier executor; both are released at the
// end.
func TestBackoutOfSucceededRunTakesLease(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1, fmt.Sprintf(twoSteps, "", "echo b >> log"))
	e := f.engine()
	out := f.start(e)
	f.wantState(out, store.StateSucceeded)
	ctx := context.Background()
	if l, err := f.st.GetLease(ctx, out.Run.ID); err != nil || l.Epoch != 1 {
		t.Fatalf("lease after the release = %+v, %v; want epoch 1", l, err)
	}
	out2, err := e.Backout(ctx, out.Run, f.ro, "operator")
	if err != nil {
		t.Fatal(err)
	}
	f.wantState(out2, store.StateBackedOut)
	equal(t, "log", f.log("h1"), []string{"a", "b", "undo-b", "undo-a"})
	l, err := f.st.GetLease(ctx, out.Run.ID)
	if err != nil || l.Epoch != 2 || !l.Expired(time.Now()) {
		t.Errorf("lease after the backout = %+v, %v; want epoch 2, released", l, err)
	}
	wantNoLock(t, f)
}

// TestResumeTakesOverLapsedLiveHolder: `golive resume` from another
// controller, of a run whose executor is alive but has stopped renewing
// its lease (paused, cut off): the lapsed lease decides, not the old
// holder's live pid: the lock is taken over, the run finishes, and the
// old executor is fenced.
func TestResumeTakesOverLapsedLiveHolder(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1, strings.Replace(sleepingStep, "sleep 30", "sleep 2", 1))
	run, oldDone := runWithLapsedLease(t, f)
	run, _ = f.st.GetRun(context.Background(), run.ID)
	e := f.engine(func(o *engine.Options) { o.Holder = store.Holder{PID: 1, Hostname: "server-b"} })
	out, err := e.Resume(context.Background(), run, f.ro)
	if err != nil || out.Run.State != store.StateSucceeded {
		t.Fatalf("Resume of a run whose live executor's lease lapsed: %v, %+v", err, out)
	}
	select {
	case err := <-oldDone:
		var lost *engine.LockLostError
		if !errors.As(err, &lost) || !errors.Is(lost.Err, store.ErrFenced) {
			t.Errorf("old executor ended with %v, want a fenced *engine.LockLostError", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the old executor went on")
	}
	if n := count(f.events(run.ID), match{kind: store.KindLock, action: store.ActionStolen}); n != 1 {
		t.Errorf("%d lock stolen events, want 1", n)
	}
}

// TestLeaseHolderNamesPIDSpace: two controllers with the same pid and
// hostname in different pid namespaces (containers) are different lease
// holders: one must not renew or take the other's lease as its own.
func TestLeaseHolderNamesPIDSpace(t *testing.T) {
	a := store.Holder{PID: 1, Hostname: "web", PIDSpace: "pid:[4026532001]"}
	b := a
	b.PIDSpace = "pid:[4026532002]"
	if engine.LeaseHolder(a) == engine.LeaseHolder(b) {
		t.Errorf("LeaseHolder(%+v) = LeaseHolder(%+v) = %q", a, b, engine.LeaseHolder(a))
	}
	if got, want := engine.LeaseHolder(a), "pid 1 on web (pid:[4026532001])"; got != want {
		t.Errorf("LeaseHolder(%+v) = %q, want %q", a, got, want)
	}
	if got, want := engine.LeaseHolder(store.Holder{PID: 1, Hostname: "web"}), "pid 1 on web"; got != want {
		t.Errorf("LeaseHolder without a pid namespace = %q, want %q", got, want)
	}
}

// renewFailStore fails the lease renewals fail selects (by call number,
// from 1) with a passing store failure, not a fencing.
type renewFailStore struct {
	store.Store
	fail func(n int) bool
	mu   sync.Mutex
	n    int // calls
	ok   int // renewals that passed
}

var errStoreBusy = errors.New("database is locked (injected)")

func (s *renewFailStore) RenewLease(ctx context.Context, l store.Lease, ttl time.Duration) (store.Lease, error) {
	s.mu.Lock()
	s.n++
	fail := s.fail(s.n)
	s.mu.Unlock()
	if fail {
		return store.Lease{}, errStoreBusy
	}
	l, err := s.Store.RenewLease(ctx, l, ttl)
	if err == nil {
		s.mu.Lock()
		s.ok++
		s.mu.Unlock()
	}
	return l, err
}

// TestUnrenewedLeaseNotTrusted: when the store cannot renew the run's
// lease, the executor does not count the failed renewals as renewed: once
// its lease may have lapsed it cannot prove it still executes the run, and
// it runs no further command.
func TestUnrenewedLeaseNotTrusted(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1, `stages:
  - name: web
    on: web
    steps:
      - {name: a, run: "sleep 1; echo a >> log"}
      - {name: b, run: echo b >> log}
`)
	st := &renewFailStore{Store: f.st, fail: func(int) bool { return true }}
	e := f.engine(func(o *engine.Options) {
		o.Store = st
		o.LeaseTTL = 300 * time.Millisecond // trusted for 200ms after a renewal
		o.Heartbeat = 20 * time.Millisecond
		o.PollEvery = 20 * time.Millisecond
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := e.Start(ctx, engine.Request{Rollout: f.ro, Requester: "tester"})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	// Stopped as for a journal failure: nothing ran that the executor
	// could not vouch for; a's effects are backed out (it has no backout).
	f.wantState(out, store.StateBackedOut)
	if !strings.Contains(out.Run.Reason, errStoreBusy.Error()) {
		t.Errorf("reason = %q, want the store's failure", out.Run.Reason)
	}
	equal(t, "log", f.log("h1"), []string{"a"})
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.n == 0 {
		t.Error("the lease was never renewed")
	}
}

// TestRenewalGoesOnAfterStoreFailure: a renewal that fails for a passing
// store failure does not end the lease's renewals: the next heartbeats
// renew it again (a lease left unrenewed would let another controller
// take over a live run).
func TestRenewalGoesOnAfterStoreFailure(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1, `stages:
  - name: web
    on: web
    steps:
      - {name: a, run: "while [ ! -f @ROOT@/go ]; do sleep 0.02; done; echo a >> log"}
`)
	st := &renewFailStore{Store: f.st, fail: func(n int) bool { return n == 1 }}
	e := f.engine(func(o *engine.Options) {
		o.Store = st
		o.LeaseTTL = time.Hour
		o.Heartbeat = 20 * time.Millisecond
		o.PollEvery = 20 * time.Millisecond
	})
	done := make(chan *engine.Outcome, 1)
	go func() {
		out, err := e.Start(context.Background(), engine.Request{Rollout: f.ro, Requester: "tester"})
		if err != nil {
			t.Errorf("Start: %v", err)
		}
		done <- out
	}()
	deadline := time.Now().Add(20 * time.Second)
	for {
		st.mu.Lock()
		n, ok := st.n, st.ok
		st.mu.Unlock()
		if n > 1 && ok >= 3 {
			break
		}
		if time.Now().After(deadline) {
			os.WriteFile(filepath.Join(f.root, "go"), nil, 0o644)
			t.Fatalf("after the failed renewal: %d renewals asked, %d passed; want 3 passed", n-1, ok)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := os.WriteFile(filepath.Join(f.root, "go"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	select {
	case out := <-done:
		f.wantState(out, store.StateSucceeded)
	case <-time.After(20 * time.Second):
		t.Fatal("the run did not end")
	}
}

// TestPrepareStopsAtFailedStepAhead: when a host's prepare step fails
// ahead of its batch, its later prepare steps do not run ahead (they need
// the failed one): in its batch the host runs the failed step again, then
// the rest, in order.
func TestPrepareStopsAtFailedStepAhead(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 2, `stages:
  - name: web
    on: web
    strategy: {canary: 1, batch: 1, max_failed: 0}
    steps:
      - name: fetch
        prepare: true
        run: |
          if [ "$GOLIVE_HOST" = h2 ] && [ ! -e failed ]; then touch failed; exit 1; fi
          echo fetch >> log
      - {name: unpack, prepare: true, run: echo unpack >> log}
      - name: switch
        run: |
          i=0
          while [ "$GOLIVE_HOST" = h1 ] && [ ! -e @ROOT@/h2/failed ]; do
            i=$((i+1)); [ "$i" -lt 200 ] || { echo "h2 was not prepared ahead" >&2; exit 9; }
            sleep 0.1
          done
          echo switch >> log
`)
	out := f.start(f.engine())
	f.wantState(out, store.StateSucceeded)
	equal(t, "h2 log", f.log("h2"), []string{"fetch", "unpack", "switch"})
	if n := count(f.events(out.Run.ID), match{kind: store.KindStep, action: store.ActionStarted, host: "h2", step: "unpack"}); n != 1 {
		t.Errorf("h2's unpack started %d times, want once", n)
	}
}

// TestStepGetsItsArtifactsSHA256: a step that names an artifact
// (sha256_of, as the release recipe's verify step does) gets the sha256
// golive verified, in lower case, as GOLIVE_ARTIFACT_SHA256; a step that
// names none does not.
func TestStepGetsItsArtifactsSHA256(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1, `stages:
  - name: web
    on: web
    steps:
      - {name: verify, run: 'echo "v=$GOLIVE_ARTIFACT_SHA256" >> log'}
      - {name: other, run: 'echo "o=${GOLIVE_ARTIFACT_SHA256-unset}" >> log'}
`)
	for _, s := range f.ro.Stages {
		for _, b := range s.Batches {
			for _, h := range b.Hosts {
				for _, st := range h.Steps {
					if st.Name == "verify" {
						st.SHA256Of = "app"
					}
				}
			}
		}
	}
	sum := strings.Repeat("AB12", 16)
	e := f.engine(func(o *engine.Options) {
		o.Artifacts = map[string]artifact.File{"app": {Path: f.file, SHA256: sum, Checked: true}}
	})
	out := f.start(e)
	f.wantState(out, store.StateSucceeded)
	equal(t, "log", f.log("h1"), []string{"v=" + strings.ToLower(sum), "o=unset"})
}
