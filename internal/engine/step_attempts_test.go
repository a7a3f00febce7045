package engine_test

import (
	"context"
	"testing"

	"github.com/golive-dev/golive/internal/store"
)

// TestResumeKeepsUsedAttempts: a step with retries: 2 (three attempts)
// failed twice and was in its third attempt when the controller died.
// Resume runs the third attempt only, not three fresh ones.
func TestResumeKeepsUsedAttempts(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1, `stages:
  - name: web
    on: web
    steps:
      - name: flaky
        run: 'echo try >> log; exit 1'
        retries: 2
        backout: 'echo undo >> log'
`)
	run := crashedRun(t, f, deadHolder(t),
		"stage started - -", "batch started - -", "host started h1 -",
		"step started h1 flaky", "step retried h1 flaky",
		"step started h1 flaky", "step retried h1 flaky",
		"step started h1 flaky")
	out, err := f.engine().Resume(context.Background(), run, f.ro)
	if err != nil {
		t.Fatal(err)
	}
	f.wantState(out, store.StateBackedOut)
	equal(t, "h1 log", f.log("h1"), []string{"try", "undo"})
	var msgs []string
	for _, ev := range filter(f.events(run.ID), match{kind: store.KindStep, action: store.ActionStarted, step: "flaky"}) {
		msgs = append(msgs, ev.Message)
	}
	equal(t, "attempts journaled", msgs, []string{"", "", "", "attempt 3/3"})
}

// TestSingleAttemptNotNumbered: a step without retries is journaled as
// started with no "attempt 1/1"; a step with retries numbers each attempt.
func TestSingleAttemptNotNumbered(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1, `stages:
  - name: web
    on: web
    steps:
      - {name: once, run: 'echo once >> log'}
      - name: flaky
        run: 'echo try >> log; [ -e tried ] || { touch tried; exit 1; }'
        retries: 1
`)
	out := f.start(f.engine())
	f.wantState(out, store.StateSucceeded)
	var msgs []string
	for _, ev := range filter(f.events(out.Run.ID), match{kind: store.KindStep, action: store.ActionStarted}) {
		msgs = append(msgs, ev.Step+": "+ev.Message)
	}
	equal(t, "started events", msgs, []string{"once: ", "flaky: attempt 1/2", "flaky: attempt 2/2"})
}
