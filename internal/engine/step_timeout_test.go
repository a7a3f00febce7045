package engine_test

import (
	"strings"
	"testing"
	"time"

	"github.com/golive-dev/golive/internal/store"
)

// TestStepTimeoutJournaled: a step that outlives its timeout is killed and
// journaled as timed_out ("timed out after 500ms, killed"), not as an
// ordinary failure, and the run is backed out long before the step would
// have ended.
func TestStepTimeoutJournaled(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1, `stages:
  - name: web
    on: web
    steps:
      - {name: slow, run: 'sleep 20', timeout: 500ms, backout: 'true'}
`)
	start := time.Now()
	out := f.startWithin(f.engine(), 60*time.Second)
	if took := time.Since(start); took > 15*time.Second {
		t.Fatalf("the run took %s: the step was not killed at its timeout", took)
	}
	f.wantState(out, store.StateBackedOut)
	evs := filter(f.events(out.Run.ID), match{kind: store.KindStep, step: "slow", action: store.ActionTimedOut})
	if len(evs) != 1 || !strings.Contains(evs[0].Message, "timed out after 500ms, killed") {
		t.Fatalf("timed_out events = %+v, want one: timed out after 500ms, killed", evs)
	}
}
