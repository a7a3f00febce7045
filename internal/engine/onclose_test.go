package engine_test

import (
	"strings"
	"testing"

	"github.com/golive-dev/golive/internal/clock"
	"github.com/golive-dev/golive/internal/engine"
	"github.com/golive-dev/golive/internal/store"
)

// An on_close value golive does not know must never be guessed: the run
// fails with a reason naming the value, and backs out like any failure.
func TestWindowClosesUnknownOnCloseRefused(t *testing.T) {
	f := newFixture(t, 3, windowPlan)
	fake := clock.NewFake(day1)
	e := f.clockEngine(fake, func(o *engine.Options) { o.Window = tenToEleven(t); o.OnClose = "puase" })
	ch := f.startAsync(e, engine.Request{})
	f.closeWindowDuringBatch1(fake)
	out := f.await(ch)
	f.wantState(out, store.StateBackedOut)
	if !strings.Contains(out.Run.Reason, `on_close is "puase"`) {
		t.Fatalf("reason = %q, want it to name the unknown on_close value", out.Run.Reason)
	}
	equal(t, "h2 log", f.log("h2"), nil)
}
