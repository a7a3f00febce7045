package engine_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golive-dev/golive/internal/engine"
	"github.com/golive-dev/golive/internal/promtest"
	"github.com/golive-dev/golive/internal/store"
)

// TestMonitorFailureBacksOut: a real Prometheus watches the run; when the
// monitored value goes bad mid-run, the monitor fails failure_limit times
// in a row, the run stops and is backed out.
func TestMonitorFailureBacksOut(t *testing.T) {
	p := promtest.Start(t)
	f := newFixture(t, 1, `stages:
  - name: web
    on: web
    steps:
      - name: a
        run: echo a >> log
        backout: echo undo-a >> log
      - name: wait
        run: 'for i in $(seq 600); do test -f @ROOT@/go && exit 0; sleep 0.05; done; exit 1'
        backout: echo undo-wait >> log
    health:
      - run: "true"
monitors:
  - name: errors
    prometheus: {url: "`+p.URL+`", query: golive_test_value}
    condition: result < 1
    interval: 200ms
    failure_limit: 2
`)
	done := make(chan *engine.Outcome, 1)
	go func() {
		out, err := f.engine().Start(context.Background(), engine.Request{Rollout: f.ro, Requester: "tester"})
		if err != nil {
			t.Error(err)
		}
		done <- out
	}()
	waitFile(t, filepath.Join(f.hostDir("h1"), "log"), 10*time.Second)
	p.Gauge.Set(5) // the fleet goes bad while step "wait" runs
	var out *engine.Outcome
	select {
	case out = <-done:
	case <-time.After(30 * time.Second):
		os.WriteFile(filepath.Join(f.root, "go"), nil, 0o644)
		t.Fatal("the run did not stop when its monitor failed")
	}
	f.wantState(out, store.StateBackedOut)
	if !strings.Contains(out.Run.Reason, `monitor "errors" failed 2 time(s) in a row: result 5: result < 1 is false`) {
		t.Errorf("reason = %q", out.Run.Reason)
	}
	equal(t, "log", f.log("h1"), []string{"a", "undo-wait", "undo-a"})
	passed, failed := 0, 0
	for _, ev := range f.events(out.Run.ID) {
		if ev.Kind == store.KindMonitor {
			switch ev.Action {
			case store.ActionPassed:
				passed++
			case store.ActionFailed:
				failed++
			}
		}
	}
	if passed == 0 || failed != 2 {
		t.Errorf("journal: %d monitor passes, %d failures; want some passes, then 2 failures", passed, failed)
	}
}
