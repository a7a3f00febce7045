package engine_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/golive-dev/golive/internal/engine"
	"github.com/golive-dev/golive/internal/store"
)

// TestMaxFailedZeroBacksOut: one failed host stops the stage: later
// batches never start, and every touched host is backed out newest step
// first.
func TestMaxFailedZeroBacksOut(t *testing.T) {
	t.Parallel()
	f := fiveHostBatches(t, ", max_failed: 0", failOn("h2"))
	out := f.start(f.engine())
	f.wantState(out, store.StateBackedOut)
	evs := f.events(out.Run.ID)
	for _, h := range []string{"h4", "h5"} {
		if n := count(evs, match{host: h}); n != 0 {
			t.Errorf("%s: %d journal events, want none (later batch)", h, n)
		}
		if f.log(h) != nil {
			t.Errorf("%s was touched: %v", h, f.log(h))
		}
	}
	equal(t, "h1 log", f.log("h1"), []string{"a", "b", "undo-b", "undo-a"})
	equal(t, "h2 log", f.log("h2"), []string{"a", "b", "undo-b", "undo-a"})
	// h3 ran beside h2 and may have been stopped anywhere: whatever
	// started is backed out, newest first.
	var undo3 []string
	for _, l := range f.log("h3") {
		if strings.HasPrefix(l, "undo-") {
			undo3 = append(undo3, l)
		}
	}
	equal(t, "h3 backouts", undo3, reversed("undo-", stepsStarted(evs, "h3")))
	for _, h := range []string{"h1", "h2"} {
		var order []string
		for _, e := range filter(evs, match{kind: store.KindStep, action: store.ActionBackedOut, host: h}) {
			order = append(order, e.Step)
		}
		equal(t, h+" journal backout order", order, []string{"b", "a"})
	}
	// The backout of h1 (batch 1) comes from its started steps, as for h2.
	if got := hostsWith(evs, match{kind: store.KindHost, action: store.ActionBackedOut}); len(got) != 3 {
		t.Errorf("hosts backed out = %v, want h1, h2, h3", got)
	}
}

// TestFailedStepIsBackedOut: the step that failed is backed out too,
// before the steps that finished.
func TestFailedStepIsBackedOut(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1, fmt.Sprintf(twoSteps, "", "echo b >> log; exit 1"))
	out := f.start(f.engine())
	f.wantState(out, store.StateBackedOut)
	equal(t, "log", f.log("h1"), []string{"a", "b", "undo-b", "undo-a"})
	evs := f.events(out.Run.ID)
	if count(evs, match{kind: store.KindStep, action: store.ActionFailed, step: "b"}) != 1 ||
		count(evs, match{kind: store.KindStep, action: store.ActionBackedOut, step: "b"}) != 1 {
		t.Error("journal: want step b failed, then backed out")
	}
}

func TestVerifyFailureBacksOut(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 2, fmt.Sprintf(twoSteps, "", "echo b >> log")+`verify:
  - name: smoke
    local: true
    run: echo smoke >> @ROOT@/verify.log; exit 1
    timeout: 300ms
    interval: 100ms
`)
	out := f.start(f.engine())
	f.wantState(out, store.StateBackedOut)
	if !strings.Contains(out.Run.Reason, "verification failed") {
		t.Errorf("reason = %q", out.Run.Reason)
	}
	for _, h := range []string{"h1", "h2"} {
		equal(t, h+" log", f.log(h), []string{"a", "b", "undo-b", "undo-a"})
	}
	evs := f.events(out.Run.ID)
	if count(evs, match{kind: store.KindCheck, action: store.ActionFailed, step: "smoke"}) != 1 {
		t.Error("journal has no failed verify check")
	}
	if _, err := os.Stat(filepath.Join(f.root, "verify.log")); err != nil {
		t.Errorf("verify did not run on the controller: %v", err)
	}
}

// TestStepWithoutBackout: a started step with no backout is reported,
// the others are backed out.
func TestStepWithoutBackout(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1, `stages:
  - name: web
    on: web
    steps:
      - {name: a, run: echo a >> log, backout: echo undo-a >> log}
      - {name: b, run: echo b >> log}
      - {name: c, run: echo c >> log; exit 1, backout: echo undo-c >> log}
`)
	out := f.start(f.engine())
	f.wantState(out, store.StateBackedOut)
	equal(t, "NotBackedOut", out.NotBackedOut, []string{"h1/b"})
	equal(t, "log", f.log("h1"), []string{"a", "b", "c", "undo-c", "undo-a"})
	evs := f.events(out.Run.ID)
	if count(evs, match{kind: store.KindStep, action: engine.ActionNotBackedOut, host: "h1", step: "b"}) != 1 {
		t.Error("journal has no not_backed_out event for step b")
	}
}

const threeStepsBrokenBackout = `stages:
  - name: web
    on: web
    steps:
      - {name: a, run: echo a >> log, backout: echo undo-a >> log}
      - {name: b, run: echo b >> log, backout: "[ -f @ROOT@/broken ] && exit 1; echo undo-b >> log"}
      - {name: c, run: echo c >> log; exit 1, backout: echo undo-c >> log}
`

// TestBackoutFailsThenFinishes: a failing backout stops that host's
// backout and needs attention; once fixed, Backout finishes it without
// repeating what was backed out.
func TestBackoutFailsThenFinishes(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1, threeStepsBrokenBackout)
	broken := filepath.Join(f.root, "broken")
	if err := os.WriteFile(broken, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	e := f.engine()
	out := f.start(e)
	f.wantState(out, store.StateBackoutFailed)
	if len(out.Attention) != 1 || !strings.Contains(out.Attention[0], "h1") {
		t.Fatalf("Attention = %q, want h1", out.Attention)
	}
	equal(t, "log", f.log("h1"), []string{"a", "b", "c", "undo-c"})
	wantLock(t, f, out.Run.ID)

	os.Remove(broken)
	out2, err := e.Backout(context.Background(), out.Run, f.ro, "fixed by hand")
	if err != nil {
		t.Fatal(err)
	}
	f.wantState(out2, store.StateBackedOut)
	if len(out2.Attention) != 0 {
		t.Errorf("Attention = %q", out2.Attention)
	}
	equal(t, "log", f.log("h1"), []string{"a", "b", "c", "undo-c", "undo-b", "undo-a"})
	wantNoLock(t, f)
}

func wantLock(t *testing.T, f *fixture, runID string) {
	t.Helper()
	l, err := f.st.GetLock(context.Background(), "t", "")
	if err != nil || l.RunID != runID {
		t.Fatalf("lock = %+v, %v; want held by %s", l, err, runID)
	}
}

func wantNoLock(t *testing.T, f *fixture) {
	t.Helper()
	if l, err := f.st.GetLock(context.Background(), "t", ""); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("lock = %+v, %v; want released", l, err)
	}
}

const manualBackout = `stages:
  - name: web
    on: web
    strategy: {canary: 1}
    steps:
      - {name: a, run: echo a >> log, backout: echo undo-a >> log}
      - {name: b, run: 'echo b >> log; [ "$GOLIVE_HOST" != h2 ]', backout: echo undo-b >> log}
backout:
  automatic: false
`

func TestManualBackout(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 2, manualBackout)
	e := f.engine()
	out := f.start(e)
	f.wantState(out, store.StateFailed)
	equal(t, "h2 log", f.log("h2"), []string{"a", "b"})
	wantLock(t, f, out.Run.ID)

	out2, err := e.Backout(context.Background(), out.Run, f.ro, "operator")
	if err != nil {
		t.Fatal(err)
	}
	f.wantState(out2, store.StateBackedOut)
	equal(t, "h1 log", f.log("h1"), []string{"a", "b", "undo-b", "undo-a"})
	equal(t, "h2 log", f.log("h2"), []string{"a", "b", "undo-b", "undo-a"})
	wantNoLock(t, f)
}

func TestManualAccept(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 2, manualBackout)
	e := f.engine()
	out := f.start(e)
	f.wantState(out, store.StateFailed)

	out2, err := e.Accept(context.Background(), out.Run, f.ro, "alice")
	if err != nil {
		t.Fatal(err)
	}
	f.wantState(out2, store.StateSucceeded)
	if !strings.Contains(out2.Run.Reason, "alice") {
		t.Errorf("reason = %q, want who accepted", out2.Run.Reason)
	}
	if len(out2.Attention) != 1 || !strings.Contains(out2.Attention[0], "h2") {
		t.Errorf("Attention = %q, want h2 (half-done)", out2.Attention)
	}
	for _, h := range []string{"h1", "h2"} {
		if slices.ContainsFunc(f.log(h), func(l string) bool { return strings.HasPrefix(l, "undo-") }) {
			t.Errorf("%s was backed out: %v", h, f.log(h))
		}
	}
	live, err := f.st.Live(context.Background(), "t", "")
	if err != nil {
		t.Fatal(err)
	}
	if live["h1"].Release != "2.0" || live["h2"].Release == "2.0" {
		t.Errorf("live = %+v, want 2.0 on h1 only", live)
	}
	wantNoLock(t, f)
}

// TestHealthCheckFailureFailsHost: a host whose health check does not
// pass in time counts as failed. (Release 1.0, restored by the backout,
// is healthy everywhere.)
func TestHealthCheckFailureFailsHost(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 2, fmt.Sprintf(twoSteps, "", "echo b >> log")+`    health:
      - name: healthy
        run: '[ "$GOLIVE_HOST" != h2 ] || [ "$GOLIVE_RELEASE" = 1.0 ]'
        timeout: 300ms
        interval: 50ms
`)
	out := f.start(f.engine())
	f.wantState(out, store.StateBackedOut)
	evs := f.events(out.Run.ID)
	if count(evs, match{kind: store.KindCheck, action: store.ActionFailed, host: "h2", step: "healthy"}) != 1 ||
		count(evs, match{kind: store.KindHost, action: store.ActionFailed, host: "h2"}) != 1 {
		t.Error("journal: want h2's health check and h2 failed")
	}
	for _, h := range []string{"h1", "h2"} {
		equal(t, h+" log", f.log(h), []string{"a", "b", "undo-b", "undo-a"})
	}
}
