package engine_test

import (
	"testing"
	"time"

	"github.com/golive-dev/golive/internal/engine"
	"github.com/golive-dev/golive/internal/store"
)

// TestWatcherDoesNotRaceStateChange: the abort watcher and the lock
// heartbeat run while the run moves from running to verifying. Meant for
// go test -race (the watcher polls every millisecond). Not parallel, so
// that a race it finds is not blamed on other tests.
func TestWatcherDoesNotRaceStateChange(t *testing.T) {
	f := newFixture(t, 1, `stages:
  - name: web
    on: web
    steps:
      - {name: a, run: "true", backout: "true"}
verify:
  - {name: v, local: true, run: sleep 0.05}
`)
	e := f.engine(func(o *engine.Options) { o.PollEvery = time.Millisecond; o.Heartbeat = time.Millisecond })
	for range 5 {
		f.wantState(f.start(e), store.StateSucceeded)
	}
}
