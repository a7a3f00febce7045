package engine_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

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
