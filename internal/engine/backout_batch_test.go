package engine_test

import (
	"testing"

	"github.com/golive-dev/golive/internal/store"
)

// TestBackoutSeesItsBatch: a backout script sees the GOLIVE_BATCH its
// step ran in, not batch 0: h1 is the canary, h2 and h3 the next batch,
// where h3 fails and everything is backed out.
func TestBackoutSeesItsBatch(t *testing.T) {
	f := newFixture(t, 3, `stages:
  - name: web
    on: web
    strategy: {canary: 1, batch: 2}
    steps:
      - name: s
        run: 'echo "run-$GOLIVE_BATCH" >> log; test "$GOLIVE_HOST" != h3'
        backout: 'echo "undo-$GOLIVE_BATCH" >> log'
`)
	out := f.start(f.engine())
	f.wantState(out, store.StateBackedOut)
	equal(t, "h1 log", f.log("h1"), []string{"run-1", "undo-1"})
	// h2 may be terminated before its echo when h3 fails first: its
	// backout runs all the same (the step started), in its own batch.
	if got := f.log("h2"); len(got) == 1 {
		equal(t, "h2 log", got, []string{"undo-2"})
	} else {
		equal(t, "h2 log", got, []string{"run-2", "undo-2"})
	}
	equal(t, "h3 log", f.log("h3"), []string{"run-2", "undo-2"})
}
