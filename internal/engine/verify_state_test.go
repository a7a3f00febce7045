package engine_test

import (
	"testing"

	"github.com/golive-dev/golive/internal/store"
)

// TestRunPassesThroughVerifying: after the last stage a run with verify
// checks is verifying (journaled, and what status shows) before it
// succeeds.
func TestRunPassesThroughVerifying(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1, `stages:
  - name: web
    on: web
    steps:
      - {name: a, run: 'echo a >> log', backout: 'true'}
verify:
  - {name: ok, run: 'true'}
`)
	out := f.start(f.engine())
	f.wantState(out, store.StateSucceeded)
	var states []string
	for _, ev := range f.events(out.Run.ID) {
		if ev.Kind == store.KindState {
			states = append(states, string(ev.Action))
		}
	}
	equal(t, "states", states, []string{"pending", "running", "verifying", "succeeded"})
}
