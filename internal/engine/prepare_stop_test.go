package engine_test

import (
	"testing"

	"github.com/golive-dev/golive/internal/store"
)

// prepareWhileFailing: batches h1 h2 | h3 h4 | h5, 20 prepare steps of
// 0.1s each; in batch 2, h3 fails and h4 ignores SIGTERM (it takes the
// grace period to end).
const prepareWhileFailing = `stages:
  - name: web
    on: web
    strategy: {batch: 2, max_failed: 0}
    steps:
      - name: p0
        prepare: true
        run: sleep 0.1
      - name: p1
        prepare: true
        run: sleep 0.1
      - name: p2
        prepare: true
        run: sleep 0.1
      - name: p3
        prepare: true
        run: sleep 0.1
      - name: p4
        prepare: true
        run: sleep 0.1
      - name: p5
        prepare: true
        run: sleep 0.1
      - name: p6
        prepare: true
        run: sleep 0.1
      - name: p7
        prepare: true
        run: sleep 0.1
      - name: p8
        prepare: true
        run: sleep 0.1
      - name: p9
        prepare: true
        run: sleep 0.1
      - name: p10
        prepare: true
        run: sleep 0.1
      - name: p11
        prepare: true
        run: sleep 0.1
      - name: p12
        prepare: true
        run: sleep 0.1
      - name: p13
        prepare: true
        run: sleep 0.1
      - name: p14
        prepare: true
        run: sleep 0.1
      - name: p15
        prepare: true
        run: sleep 0.1
      - name: p16
        prepare: true
        run: sleep 0.1
      - name: p17
        prepare: true
        run: sleep 0.1
      - name: p18
        prepare: true
        run: sleep 0.1
      - name: p19
        prepare: true
        run: sleep 0.1
      - name: go
        run: |
          case "$GOLIVE_HOST" in
          h3) sleep 0.5; exit 1 ;;
          h4) trap '' TERM; sleep 10 ;;
          esac
`

// Once a batch is cancelled, the preparation of the next batch stops at
// once, not when the cancelled batch's last host is terminated: no
// prepare step of batch 3 starts after the failure (one may have been on
// its way).
func TestPreparationStopsWhenBatchFails(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 5, prepareWhileFailing)
	out := f.start(f.engine())
	f.wantState(out, store.StateBackedOut)
	evs := f.events(out.Run.ID)
	var failed int64
	for _, e := range filter(evs, match{kind: store.KindStep, action: store.ActionFailed, host: "h3"}) {
		failed = e.Seq
	}
	if failed == 0 {
		t.Fatal("h3's step did not fail")
	}
	after := 0
	for _, e := range filter(evs, match{kind: store.KindStep, action: store.ActionStarted, host: "h5"}) {
		if e.Seq > failed {
			after++
		}
	}
	if after > 1 {
		t.Errorf("%d prepare steps of h5 started after h3 failed, want at most 1", after)
	}
}
