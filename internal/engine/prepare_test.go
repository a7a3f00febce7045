package engine_test

import (
	"fmt"
	"testing"

	"github.com/golive-dev/golive/internal/store"
)

// prepareStages: hosts h1 (canary), then h2 and h3. h1's switch waits
// (up to 20s) until h2 and h3 are prepared, then runs switchH1.
const prepareStages = `stages:
  - name: web
    on: web
    strategy: {canary: 1, batch: 2, max_failed: 0}
    steps:
      - name: upload
        prepare: true
        run: |
          if [ "$GOLIVE_HOST" = h2 ] && [ -e @ROOT@/fail-once ] && [ ! -e failed ]; then touch failed; exit 1; fi
          echo prepare >> log; touch @ROOT@/prepared-$GOLIVE_HOST
        backout: echo undo-prepare >> log
      - name: switch
        run: |
          if [ "$GOLIVE_HOST" = h1 ]; then
            i=0
            while [ ! -e @ROOT@/prepared-h2 ] || [ ! -e @ROOT@/prepared-h3 ]; do
              i=$((i+1)); [ "$i" -lt 200 ] || { echo "h2 and h3 were not prepared ahead" >&2; exit 9; }
              sleep 0.1
            done
            %s
          fi
          echo switch >> log
        backout: echo undo-switch >> log
`

// The next batch's prepare steps run while the canary switches; when its
// batch comes, a host only runs the steps not done yet.
func TestPrepareAheadWhileBatchSwitches(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 3, fmt.Sprintf(prepareStages, ":"))
	out := f.start(f.engine())
	f.wantState(out, store.StateSucceeded)
	for _, h := range []string{"h1", "h2", "h3"} {
		equal(t, h+" log", f.log(h), []string{"prepare", "switch"})
	}
	evs := f.events(out.Run.ID)
	if n := count(evs, match{kind: store.KindStep, action: store.ActionStarted, host: "h2", step: "upload"}); n != 1 {
		t.Errorf("h2's prepare step started %d times, want once", n)
	}
}

// A failure in the batch that switches backs out the hosts prepared
// ahead too (their prepare steps' backouts), though their batch never
// started.
func TestPreparedHostsAreBackedOut(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 3, fmt.Sprintf(prepareStages, "exit 1"))
	out := f.start(f.engine())
	f.wantState(out, store.StateBackedOut)
	equal(t, "h1 log", f.log("h1"), []string{"prepare", "undo-switch", "undo-prepare"})
	for _, h := range []string{"h2", "h3"} {
		equal(t, h+" log", f.log(h), []string{"prepare", "undo-prepare"})
	}
}

// A prepare step that fails ahead of time runs again in its host's batch
// and the run succeeds: the failure ahead does not count.
func TestPrepareFailedAheadRunsInItsBatch(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 3, `stages:
  - name: web
    on: web
    strategy: {canary: 1, batch: 2, max_failed: 0}
    steps:
      - name: upload
        prepare: true
        run: |
          if [ "$GOLIVE_HOST" = h2 ] && [ ! -e failed ]; then touch failed; exit 1; fi
          echo prepare >> log
        backout: echo undo-prepare >> log
      - name: switch
        run: |
          i=0
          while [ "$GOLIVE_HOST" = h1 ] && [ ! -e @ROOT@/h2/failed ]; do
            i=$((i+1)); [ "$i" -lt 200 ] || { echo "h2 was not prepared ahead" >&2; exit 9; }
            sleep 0.1
          done
          echo switch >> log
        backout: echo undo-switch >> log
`)
	out := f.start(f.engine())
	f.wantState(out, store.StateSucceeded)
	equal(t, "h2 log", f.log("h2"), []string{"prepare", "switch"})
	evs := f.events(out.Run.ID)
	if n := count(evs, match{kind: store.KindStep, action: store.ActionFailed, host: "h2", step: "upload"}); n != 1 {
		t.Errorf("h2's upload failed %d times in the journal, want once (ahead of time)", n)
	}
	if n := count(evs, match{kind: store.KindStep, action: store.ActionFinished, host: "h2", step: "upload"}); n != 1 {
		t.Errorf("h2's upload finished %d times, want once (in its batch)", n)
	}
}

// With more than two batches, each batch's prepare steps run ahead while
// the batch before switches, and every host prepares and switches once.
func TestPrepareAheadOverManyBatches(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 4, `stages:
  - name: web
    on: web
    strategy: {canary: 1, batch: 1, max_failed: 0}
    steps:
      - name: upload
        prepare: true
        run: echo prepare >> log
        backout: echo undo-prepare >> log
      - name: switch
        run: echo switch >> log
        backout: echo undo-switch >> log
`)
	out := f.start(f.engine())
	f.wantState(out, store.StateSucceeded)
	for _, h := range []string{"h1", "h2", "h3", "h4"} {
		equal(t, h+" log", f.log(h), []string{"prepare", "switch"})
	}
}
