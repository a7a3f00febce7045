package release

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golive-dev/golive/internal/engine"
	"github.com/golive-dev/golive/internal/plan"
	"github.com/golive-dev/golive/internal/redact"
	"github.com/golive-dev/golive/internal/review"
	"github.com/golive-dev/golive/internal/rollout"
	"github.com/golive-dev/golive/internal/store"
)

// ReviewOptions ask for a go/no-go review of a release.
type ReviewOptions struct {
	Plan    PlanInput
	Release string
	Ticket  string
	By      store.Identity // who would request it
	Watch   Watch
}

// Review answers go or no-go for a release, changing nothing anywhere. A
// no-go is the report's answer, not an error.
func (s *Service) Review(ctx context.Context, o ReviewOptions) (*review.Report, error) {
	if err := checkRelease(o.Plan, o.Release, o.Ticket, o.By); err != nil {
		return nil, err
	}
	pr, err := s.prepare(ctx, o.Plan, o.Release, "", false, "")
	if err != nil {
		return nil, err
	}
	defer pr.close()
	o.Watch.ready(pr.info())
	eng := s.newEngine(pr, engineOptions{})
	return review.Review(ctx, s.reviewInput(pr, eng, o.Ticket, o.By.Name, nil, false)), nil
}

func checkRelease(in PlanInput, release, ticket string, by store.Identity) error {
	var c checked
	if release == "" {
		c.check(errors.New("release: no version given"))
	} else {
		c.check(valuesVersion(release))
	}
	if ticket != "" {
		c.check(valuesTicket(ticket))
	}
	c.planInput(in)
	c.identity(by)
	return c.err()
}

// StartOptions start a release.
type StartOptions struct {
	Plan    PlanInput
	Release string
	Ticket  string
	By      store.Identity // the requester
	// Wait blocks until what the run waits for (approvals, the window)
	// arrives; without it a run that must wait is created waiting and
	// returned at once (Result.Waiting).
	Wait     bool
	LockWait time.Duration // wait up to this long for the environment lock
	Parallel int           // hosts worked on at the same time (default 50)
	Watch    Watch
	// Force redeploys the release already live (the review otherwise
	// says no-go: it is live already).
	Force bool
	// OverrideWindow is the reason of a break-glass run (run
	// --override-window --reason TEXT): the release window and freezes do
	// not hold it, when the plan's controls.override allows it and after
	// one approval from its approvers. "" for an ordinary run.
	OverrideWindow string
}

// Result is how a call on a run ended.
type Result struct {
	Run     store.Run
	Outcome *engine.Outcome // how its execution ended; nil when nothing was executed
	Review  *review.Report  // the review the call made, if it made one
	// Waiting: the run is waiting (created so, or still) for these.
	Waiting []string
	// Events is the run's journal once the call ended (with Outcome).
	Events []store.Event
	// Live is the release live per host of the run's environment now
	// (with Outcome; nil when the store could not say).
	Live map[string]store.LiveRelease
	// Touched: a step of the run started, ever.
	Touched bool
	// Rehearsal is the verdict of a rehearsal that got to its end.
	Rehearsal *RehearsalVerdict

	Plan      *plan.Plan
	Rollout   *rollout.Rollout
	Redactor  *redact.Redactor
	StorePath string // where the store is, if it is a file
}

// Start reviews the release and, on a go, creates and executes the run.
// A run that may only wait (approvals missing, the window closed) is
// created waiting: with Wait the call waits and then executes it, else it
// returns with Result.Waiting. A no-go is an Error of Kind NoGo carrying
// the report; nothing was changed.
func (s *Service) Start(ctx context.Context, o StartOptions) (*Result, error) {
	if err := checkRelease(o.Plan, o.Release, o.Ticket, o.By); err != nil {
		return nil, err
	}
	if o.OverrideWindow != "" {
		if err := checkReason(o.OverrideWindow); err != nil {
			return nil, &Error{Kind: Invalid, Msg: err.Error(), Err: err}
		}
	}
	pr, err := s.prepare(ctx, o.Plan, o.Release, "", false, "")
	if err != nil {
		return nil, err
	}
	defer pr.close()
	pr.force, pr.override = o.Force, o.OverrideWindow
	if o.OverrideWindow != "" {
		pr.notify.SetOverride(OverrideLine(o.By.String(), o.OverrideWindow))
	}
	pr.kind = newRunKind(ctx, pr, o)
	o.Watch.ready(pr.info())
	eng := s.newEngine(pr, engineOptions{observer: o.Watch.Observer, wait: o.Wait, parallel: o.Parallel})
	rep := review.Review(ctx, s.reviewInput(pr, eng, o.Ticket, o.By.Name, nil, true))
	o.Watch.reviewed(rep)
	if rep.Go {
		pr.notify.Send("go", nil, nil)
	} else {
		pr.notify.Send("no_go", nil, rep.Reasons)
	}
	if !rep.Go && !rep.WaitOnly {
		pr.notify.Close(NotifyWait)
		return pr.result(rep), &Error{Kind: NoGo, Msg: "no-go: nothing was changed", Report: rep}
	}
	req := s.request(ctx, pr, o)
	if rep.Go {
		out, err := eng.Start(ctx, req)
		o.Watch.executed()
		return s.finish(ctx, pr, out, err)
	}
	run, err := eng.Create(ctx, req, store.StateWaiting, "waiting for "+strings.Join(rep.Reasons, "; "))
	if err != nil {
		return nil, err
	}
	pr.notify.Send("waiting", &run, nil)
	defer pr.notify.Close(NotifyWait)
	return s.waitThenContinue(ctx, pr, eng, waitOptions{run: run, rep: rep, by: o.By, wait: o.Wait, watch: &o.Watch})
}

// request is the engine's request for a new run of pr.
func (s *Service) request(ctx context.Context, pr *prepared, o StartOptions) engine.Request {
	return engine.Request{Rollout: pr.ro, Requester: o.By.Name, By: o.By, Ticket: o.Ticket, PlanHash: pr.hash, Artifacts: pr.sums,
		LockWait: o.LockWait,
		Created: func(r store.Run) {
			journalKind(ctx, pr.st, r, pr.kind, pr.override)
			recordOverrides(ctx, pr.st, r.ID, pr.in.Set, pr.secrets)
			if o.Watch.Created != nil {
				o.Watch.Created(r)
			}
		}}
}

func (s *Service) reviewInput(pr *prepared, eng *engine.Engine, ticket, requester string, run *store.Run, skipLock bool) review.Input {
	if run != nil {
		ticket = run.Ticket
	}
	return review.Input{Plan: pr.plan, Rollout: pr.ro, Store: pr.st, Engine: eng, Dialer: s.dialer(pr), Artifacts: pr.artifacts, ArtErr: pr.artErr,
		Ticket: ticket, Requester: requester, PlanHash: pr.hash, Now: s.now(), Run: run, SkipLock: skipLock,
		Redact: pr.red.String, Redeploy: pr.force, Override: pr.override}
}

// WaitsForApprovals reports whether rep waits for approvals.
func WaitsForApprovals(rep *review.Report) bool {
	for _, it := range rep.Items {
		if it.Kind == "approvals" && !it.OK {
			return true
		}
	}
	return false
}

// WaitsForOverride reports whether rep waits for a break-glass approval.
func WaitsForOverride(rep *review.Report) bool {
	for _, it := range rep.Items {
		if it.Kind == "override" && !it.OK {
			return true
		}
	}
	return false
}

type waitOptions struct {
	run   store.Run
	rep   *review.Report
	by    store.Identity
	wait  bool
	watch *Watch
}

// WaitEndedError says a run stopped waiting without starting: it was
// aborted or rejected meanwhile, or what it waits for can no longer
// arrive (Aborted: the call aborted it).
type WaitEndedError struct {
	Run     store.Run
	Aborted bool
	Err     error
}

func (e *WaitEndedError) Error() string {
	if e.Aborted {
		return fmt.Sprintf("run %s aborted: %s", e.Run.ID, e.Run.Reason)
	}
	return fmt.Sprintf("run %s stopped waiting: %s", e.Run.ID, e.Err)
}

func (e *WaitEndedError) Unwrap() error { return e.Err }

// waitThenContinue handles a run waiting for approvals or the window:
// without wait it returns the waiting run; with wait it polls until the
// wait is over, then releases.
func (s *Service) waitThenContinue(ctx context.Context, pr *prepared, eng *engine.Engine, o waitOptions) (*Result, error) {
	run := o.run
	if !o.wait {
		res := pr.result(o.rep)
		res.Run, res.Waiting = run, o.rep.Reasons
		return res, nil
	}
	if o.watch.Waits != nil {
		o.watch.Waits(run, o.rep.Reasons)
	}
	err := eng.WaitReady(ctx, func(now time.Time) (bool, bool, *time.Time, string) {
		// An operator may abort or reject the run while it waits.
		if cur, err := pr.st.GetRun(ctx, run.ID); err == nil && cur.State != store.StateWaiting {
			return false, false, nil, fmt.Sprintf("run is %s: %s", cur.State, cur.Reason)
		}
		in := s.reviewInput(pr, eng, "", o.by.Name, &run, true)
		in.Now = now
		p := review.Pending(ctx, in)
		return p.Go, p.WaitOnly, p.NextOpen, strings.Join(p.Reasons, "; ")
	})
	switch {
	case ctx.Err() != nil:
		return nil, &Error{Kind: NoGo, Msg: fmt.Sprintf("stopped waiting; run %s is still waiting: `golive resume %s` continues it", run.ID, run.ID), Err: ctx.Err()}
	case err != nil:
		if r2, uerr := pr.st.UpdateRunState(ctx, run.ID, []store.State{store.StateWaiting}, store.StateAborted, err.Error()); uerr == nil {
			return nil, &WaitEndedError{Run: r2, Aborted: true, Err: err}
		}
		return nil, &WaitEndedError{Run: run, Err: err}
	}
	// The wait may have been long: the artifacts must still be the bytes
	// the run was created (and approved) with.
	pr.verifyArtifacts()
	if err := checkArtifacts(pr, run); err != nil {
		return nil, err
	}
	out, err := eng.Continue(ctx, run, pr.ro)
	o.watch.executed()
	return s.finish(ctx, pr, out, err)
}

// result is the Result of a call on pr, before its run is known.
func (pr *prepared) result(rep *review.Report) *Result {
	return &Result{Review: rep, Plan: pr.plan, Rollout: pr.ro, Redactor: pr.red, StorePath: store.PathOf(pr.st)}
}

// finish turns how an execution ended into the call's result: the
// outcome with the run's journal and live releases, or a typed error.
func (s *Service) finish(ctx context.Context, pr *prepared, out *engine.Outcome, err error) (*Result, error) {
	defer pr.notify.Close(NotifyWait)
	res := pr.result(nil)
	var locked *store.LockedError
	var busy *engine.HolderBusyError
	switch {
	case errors.As(err, &locked):
		le := &LockedError{Lock: locked.Lock, Err: err}
		if r, gerr := pr.st.GetRun(ctx, locked.Lock.RunID); gerr == nil {
			le.Holder = &r
		}
		return res, le
	case errors.As(err, &busy):
		return res, &Error{Kind: NoGo, Msg: busy.Error(), Err: err}
	case errors.As(err, new(*engine.StoreError)):
		return res, err
	case err != nil && out == nil:
		return res, err
	}
	res.Run, res.Outcome = out.Run, out
	res.Events, _ = pr.st.Events(ctx, out.Run.ID, 0)
	res.Touched = touched(res.Events)
	if live, lerr := pr.st.Live(ctx, pr.ro.Plan, pr.ro.Env); lerr == nil {
		if live == nil {
			live = map[string]store.LiveRelease{}
		}
		res.Live = live
	}
	return res, err
}

// touched reports whether any step of the run started.
func touched(events []store.Event) bool {
	for _, ev := range events {
		if ev.Kind == store.KindStep && ev.Action == store.ActionStarted {
			return true
		}
	}
	return false
}
