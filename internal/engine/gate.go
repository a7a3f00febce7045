package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/golive-dev/golive/internal/approval"
	"github.com/golive-dev/golive/internal/store"
)

// Journal vocabulary of the release controls.
const (
	// ActionApprovalRequested: the run waits for approvals (KindApproval,
	// Step = the gate: "stage:NAME" or "verify").
	ActionApprovalRequested store.Action = "approval_requested"
	// ActionGatePassed: a gate or sign-off got its approvals (KindApproval).
	ActionGatePassed store.Action = "gate_passed"
	// ActionPaused: the run stopped to wait (KindRun; Message says for what).
	ActionPaused store.Action = "paused"
)

// PauseError stops a run that must wait for something that can arrive
// later (approvals at a gate or sign-off, the window) when the engine is
// not told to wait (Options.Wait). The run is left paused, holding the
// lock; resume continues it.
type PauseError struct{ For string }

func (e *PauseError) Error() string { return "waiting for " + e.For }

// RejectedError: a gate or sign-off was rejected.
type RejectedError struct {
	Gate, By, Comment string
}

func (e *RejectedError) Error() string {
	msg := fmt.Sprintf("%s rejected by %s", gateName(e.Gate), e.By)
	if e.Comment != "" {
		msg += ": " + e.Comment
	}
	return msg
}

func gateName(gate string) string {
	switch {
	case gate == "verify":
		return "sign-off"
	case len(gate) > 6 && gate[:6] == "stage:":
		return "gate before stage " + gate[6:]
	}
	return "approval"
}

// awaitApprovals waits until n approvals for gate count (by the plan's
// rules), a rejection, or timeout (0: none) since the request was first
// journaled. Without Options.Wait it pauses the run instead of waiting.
func (x *execution) awaitApprovals(ctx context.Context, gate string, n int, timeout time.Duration) error {
	if x.hist.gatePassed(gate) {
		return nil
	}
	since, asked := x.hist.requested(gate)
	if !asked {
		since = x.e.o.Clock.Now()
		msg := fmt.Sprintf("%s: waiting for %d approval(s)", gateName(gate), n)
		if timeout > 0 {
			msg += fmt.Sprintf(" until %s", since.Add(timeout).Format(time.RFC3339))
		}
		if err := x.journalOrFail(ctx, store.Event{Kind: store.KindApproval, Action: ActionApprovalRequested, Step: gate, Message: msg}); err != nil {
			return err
		}
	}
	rules := approval.RulesFor(x.e.o.Approvals, n)
	subj := approval.SubjectOf(x.run, x.run.PlanHash, gate)
	for {
		all, err := x.e.o.Store.ListApprovals(ctx, x.run.ID)
		if err != nil {
			return err
		}
		t := approval.Count(rules, subj, beforeDeadline(all, since, timeout))
		switch {
		case t.Rejected != nil:
			return &RejectedError{Gate: gate, By: t.Rejected.Approver, Comment: t.Rejected.Comment}
		case t.Satisfied():
			return x.journalOrFail(ctx, store.Event{Kind: store.KindApproval, Action: ActionGatePassed, Step: gate, Message: fmt.Sprintf("%s: %s", gateName(gate), t.Summary())})
		case timeout > 0 && !x.e.o.Clock.Now().Before(since.Add(timeout)):
			return fmt.Errorf("%s: timed out after %s with %s", gateName(gate), timeout, t.Summary())
		case !x.e.o.Wait:
			until := ""
			if timeout > 0 {
				until = " until " + since.Add(timeout).Format(time.RFC3339)
			}
			return &PauseError{For: fmt.Sprintf("%s (%s)%s: `golive approve %s`, then `golive resume %s`", gateName(gate), t.Summary(), until, x.run.ID, x.run.ID)}
		}
		wait := x.e.o.PollEvery
		if timeout > 0 {
			wait = min(wait, since.Add(timeout).Sub(x.e.o.Clock.Now()))
		}
		if err := x.e.o.Clock.Sleep(ctx, wait); err != nil {
			return context.Cause(ctx)
		}
	}
}

// checkWindow is called before every batch: when the release window has
// closed, on_close decides: backout (fail), pause, or finish (go on).
func (x *execution) checkWindow(ctx context.Context) error {
	w := x.e.o.Window
	if w == nil {
		return nil
	}
	for {
		open, why := w.IsOpen(x.e.o.Clock.Now())
		if open {
			return nil
		}
		switch x.e.o.OnClose {
		case "finish":
			if !x.hist.windowFinishNoted() {
				x.journal(ctx, store.Event{Kind: store.KindRun, Action: "window_closed", Message: why + "; on_close finish: the run goes on"})
			}
			return nil
		case "pause":
			if !x.e.o.Wait {
				return &PauseError{For: "the release window (" + why + "): `golive resume " + x.run.ID + "` when it is open"}
			}
			next, ok := w.NextOpen(x.e.o.Clock.Now())
			if !ok {
				return &WindowError{Why: why}
			}
			x.journal(ctx, store.Event{Kind: store.KindRun, Action: ActionPaused, Message: "release window closed; waiting until " + next.Format(time.RFC3339)})
			if err := x.e.o.Clock.Sleep(ctx, next.Sub(x.e.o.Clock.Now())); err != nil {
				return context.Cause(ctx)
			}
		case "backout", "":
			return &WindowError{Why: why}
		default:
			// validate refuses unknown values; never guess what was meant.
			return fmt.Errorf("the release window closed (%s) and on_close is %q, which golive does not know: use backout, pause or finish", why, x.e.o.OnClose)
		}
	}
}

// WindowError: the release window closed mid-run and on_close is backout.
type WindowError struct{ Why string }

func (e *WindowError) Error() string { return "release window closed: " + e.Why }

// WaitReady polls ready (given the clock's now) until it says the run may
// start, or that it never will (the error). ready returns whether the run
// may start, whether it is still worth waiting, when to look again (nil:
// in a few seconds) and what it waits for.
func (e *Engine) WaitReady(ctx context.Context, ready func(now time.Time) (ok, wait bool, next *time.Time, why string)) error {
	for {
		now := e.o.Clock.Now()
		ok, wait, next, why := ready(now)
		switch {
		case ok:
			return nil
		case !wait:
			return fmt.Errorf("no-go while waiting: %s", why)
		}
		pause := 2 * time.Second
		if next != nil {
			pause = max(min(next.Sub(now), time.Minute), 10*time.Millisecond)
		}
		if err := e.o.Clock.Sleep(ctx, pause); err != nil {
			return err
		}
	}
}
