package cli

import (
	"bytes"
	"context"
	"strings"
	"syscall"
	"testing"

	"github.com/golive-dev/golive/internal/store"
)

// The interrupt sequence, without real signals (the crash tests send real
// ones to the real binary): the first stops the run, the next ones during
// a backout say it goes on and how many more abandon it, the third
// abandons it; further ones change nothing.
func TestInterruptSequence(t *testing.T) {
	var out bytes.Buffer
	in := &interrupts{w: &out, abandon: make(chan struct{})}
	in.ctx, in.cancel = context.WithCancelCause(context.Background())
	in.Observe(store.Event{RunID: "r-1", Kind: store.KindState, Action: store.Action(store.StateRunning)})

	in.got(syscall.SIGINT)
	if in.ctx.Err() == nil || context.Cause(in.ctx).Error() != "SIGINT received" {
		t.Fatalf("first signal: context %v, cause %v", in.ctx.Err(), context.Cause(in.ctx))
	}
	if !strings.Contains(out.String(), "SIGINT: stopping run r-1") {
		t.Errorf("first signal said %q", out.String())
	}
	in.Observe(store.Event{RunID: "r-1", Kind: store.KindState, Action: store.Action(store.StateBackingOut)})
	out.Reset()
	in.got(syscall.SIGTERM)
	if !strings.Contains(out.String(), "SIGTERM: the backout of run r-1 goes on") || !strings.Contains(out.String(), "1 more abandons it") {
		t.Errorf("second signal said %q", out.String())
	}
	select {
	case <-in.abandonCh():
		t.Fatal("two signals abandoned the backout")
	default:
	}
	out.Reset()
	in.got(syscall.SIGHUP)
	select {
	case <-in.abandonCh():
	default:
		t.Fatal("the third signal did not abandon the backout")
	}
	if !strings.Contains(out.String(), "abandoning the backout of run r-1") || !strings.Contains(out.String(), "golive backout r-1") {
		t.Errorf("third signal said %q", out.String())
	}
	in.got(syscall.SIGINT) // a fourth: no second close, no panic
}

// A run that is backing out when the first signal comes says so at once.
func TestInterruptDuringBackout(t *testing.T) {
	var out bytes.Buffer
	in := &interrupts{w: &out, abandon: make(chan struct{})}
	in.ctx, in.cancel = context.WithCancelCause(context.Background())
	in.Observe(store.Event{RunID: "r-2", Kind: store.KindState, Action: store.Action(store.StateBackingOut)})
	in.got(syscall.SIGINT)
	if !strings.Contains(out.String(), "the backout of run r-2 goes on") || !strings.Contains(out.String(), "2 more abandons it") {
		t.Errorf("signal during a backout said %q", out.String())
	}
	var nilIn *interrupts
	nilIn.Observe(store.Event{}) // in-process: no signal handling, no panic
	if nilIn.abandonCh() != nil {
		t.Error("abandonCh of no interrupts is not nil")
	}
}
