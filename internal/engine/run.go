package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golive-dev/golive/internal/rollout"
	"github.com/golive-dev/golive/internal/store"
	"github.com/golive-dev/golive/internal/transport"
	"github.com/golive-dev/golive/internal/values"
)

// Request is a new run to start.
type Request struct {
	Rollout   *rollout.Rollout
	Requester string
	// By is who requested it, with what vouches for the name (empty: a
	// name claimed by this process at the CLI; see store.Identity).
	By        store.Identity
	Ticket    string
	PlanHash  string
	Artifacts store.ArtifactSums // the artifact sha256s the run is bound to
	LockWait  time.Duration      // wait this long for the environment lock
	// Created is called with the new run before anything else happens,
	// so the caller can print its id.
	Created func(store.Run)
}

// Start creates a run, takes the environment lock and executes the
// rollout. The error is for what kept the run from executing (the lock is
// held: a *store.LockedError); how the run ended is in the Outcome.
func (e *Engine) Start(ctx context.Context, req Request) (*Outcome, error) {
	// Wait for the lock before creating the run, so a locked environment
	// does not fill the history with runs that never started.
	if err := e.waitUnlocked(ctx, req.Rollout.Plan, req.Rollout.Env, req.LockWait); err != nil {
		return nil, err
	}
	run, err := e.Create(ctx, req, store.StatePending, "created by "+req.Requester)
	if err != nil {
		return nil, err
	}
	return e.Continue(ctx, run, req.Rollout)
}

// Create records a new run in state (pending, or waiting for what the
// review says can arrive later) without touching anything.
func (e *Engine) Create(ctx context.Context, req Request, state store.State, reason string) (store.Run, error) {
	ro := req.Rollout
	if err := checkRunValues(ro.Release, ro.Previous, req.Ticket); err != nil {
		return store.Run{}, fmt.Errorf("create run: %w", err)
	}
	run, err := e.o.Store.CreateRun(ctx, store.Run{
		Plan: ro.Plan, Env: ro.Env, Release: ro.Release, PreviousRelease: ro.Previous, State: state,
		Requester: req.Requester, RequesterVia: req.By.Via, RequesterOSUser: req.By.OSUser, RequesterToken: req.By.Token,
		Ticket: req.Ticket, PlanHash: req.PlanHash, Artifacts: req.Artifacts,
		Reason: e.o.Redactor.String(reason),
	})
	if err != nil {
		return run, fmt.Errorf("create run: %w", err)
	}
	if req.Created != nil {
		req.Created(run)
	}
	return run, nil
}

// checkRunValues refuses to record a run whose release, previous release
// or ticket breaks the rules of run-time values (the CLI and the server
// check them first; this is the last line).
func checkRunValues(release, previous, ticket string) error {
	if err := values.Version("release", release); err != nil {
		return err
	}
	if previous != "" {
		if err := values.Version("previous release", previous); err != nil {
			return err
		}
	}
	if ticket != "" {
		return values.Ticket("ticket", ticket)
	}
	return nil
}

// Continue starts a pending or waiting run: it takes the lock and
// executes. A run that cannot take the lock is aborted (the error is a
// *store.LockedError).
func (e *Engine) Continue(ctx context.Context, run store.Run, ro *rollout.Rollout) (*Outcome, error) {
	x := e.newExecution(run, ro, newHistory())
	from := []store.State{store.StatePending, store.StateWaiting}
	if err := x.lock(ctx); err != nil {
		if run.State == store.StatePending {
			x.setState(ctx, from, store.StateAborted, "not started: "+err.Error())
		} // a waiting run keeps waiting (and its approvals)
		return &Outcome{Run: x.run}, err
	}
	defer x.unlock()
	if err := x.setState(ctx, from, store.StateRunning, "released by "+run.Requester); err != nil {
		return nil, err
	}
	return x.execute(ctx)
}

func (e *Engine) newExecution(run store.Run, ro *rollout.Rollout, h *history) *execution {
	return &execution{e: e, run: run, ro: ro, hist: h, conns: map[string]transport.Conn{}, dials: map[string]*dialing{}}
}

// Resume continues a run whose controller stopped (it was killed, or the
// machine went down) from what its journal says: stages and hosts that
// finished are not run again; a step that started but did not finish runs
// again. A run that was backing out goes on backing out. ro must be built
// from the same plan (hash) and release as the run.
func (e *Engine) Resume(ctx context.Context, run store.Run, ro *rollout.Rollout) (*Outcome, error) {
	events, err := e.o.Store.Events(ctx, run.ID, 0)
	if err != nil {
		return nil, err
	}
	x := e.newExecution(run, ro, replay(events))
	autoBackout := run.State == store.StateFailed && ro.AutoBack && !strings.Contains(run.Reason, NoBackoutMark)
	switch run.State {
	case store.StatePaused, store.StateRunning, store.StateVerifying, store.StateBackingOut:
	default:
		if !autoBackout {
			return nil, fmt.Errorf("run %s is %s: %w", run.ID, run.State, ErrNotResumable)
		}
	}
	if err := x.takeOver(ctx); err != nil {
		return nil, err
	}
	defer x.unlock()
	if autoBackout {
		// The controller died between failing and backing out.
		return x.backout(ctx, run.Reason)
	}
	if run.State != store.StateBackingOut {
		defer x.closeConns()
		x.stopRemote(ctx) // before anything runs again (backout does it itself)
	}
	switch run.State {
	case store.StatePaused:
		if err := x.setState(ctx, []store.State{store.StatePaused}, store.StateRunning, "resumed"); err != nil {
			return nil, err
		}
		return x.execute(ctx)
	case store.StateRunning, store.StateVerifying:
		x.journal(ctx, store.Event{Kind: store.KindRun, Action: "resumed", Message: "resumed by pid " + fmt.Sprint(e.o.Holder.PID)})
		return x.execute(ctx)
	case store.StateBackingOut:
		return x.backout(ctx, run.Reason)
	}
	return nil, fmt.Errorf("run %s is %s: %w", run.ID, run.State, ErrNotResumable)
}

// NoBackoutMark ends the reason of a run stopped without a backout on
// purpose (abort --no-backout): resume does not back it out.
const NoBackoutMark = "(no backout)"

// ErrNotResumable: the run is in a state resume cannot continue.
var ErrNotResumable = errors.New("nothing to resume")

// Backout backs out what the run touched: a failed run (automatic backout
// off), a run whose backout did not finish, or a run whose controller
// died. Steps already backed out are not backed out again.
func (e *Engine) Backout(ctx context.Context, run store.Run, ro *rollout.Rollout, why string) (*Outcome, error) {
	events, err := e.o.Store.Events(ctx, run.ID, 0)
	if err != nil {
		return nil, err
	}
	x := e.newExecution(run, ro, replay(events))
	if err := x.takeOver(ctx); err != nil {
		return nil, err
	}
	defer x.unlock()
	return x.backout(ctx, why)
}

// execute runs the stages and verification, then records success or
// fails and backs out.
func (x *execution) execute(ctx context.Context) (*Outcome, error) {
	defer x.closeConns()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stopWatch := x.watch(ctx, cancel)
	stopMonitors := x.monitors(ctx, cancel)
	var err error
	if a := x.hist.abortRequest(); a != nil {
		err = a // requested before this controller took over
	} else {
		err = x.stages(ctx)
	}
	if err == nil {
		err = x.verify(ctx)
	}
	stopMonitors()
	stopWatch()
	if err != nil && context.Cause(ctx) != nil && !errors.Is(err, context.Cause(ctx)) {
		err = context.Cause(ctx) // the real reason: abort, lock lost
	}
	var pause *PauseError
	switch {
	case err == nil:
		return x.succeed(ctx)
	case errors.As(err, &pause):
		return x.pause(ctx, pause)
	}
	return x.fail(ctx, err)
}

// pause leaves the run paused, holding the lock, until resume.
func (x *execution) pause(ctx context.Context, p *PauseError) (*Outcome, error) {
	x.journal(ctx, store.Event{Kind: store.KindRun, Action: ActionPaused, Message: p.For})
	err := x.setState(ctx, []store.State{store.StateRunning, store.StateVerifying}, store.StatePaused, "waiting for "+p.For)
	return x.outcome(), err
}

func (x *execution) stages(ctx context.Context) error {
	for _, s := range x.ro.Stages {
		if x.hist.isStageDone(s.Name) {
			continue
		}
		if s.Gate > 0 {
			if err := x.awaitApprovals(ctx, "stage:"+s.Name, s.Gate, 0); err != nil {
				return err
			}
		}
		if err := x.stage(ctx, s); err != nil {
			return err
		}
	}
	return nil
}

func (x *execution) succeed(ctx context.Context) (*Outcome, error) {
	out := &Outcome{}
	var done []string
	for _, s := range x.ro.Stages {
		for _, b := range s.Batches {
			for _, h := range b.Hosts {
				if !x.hist.isHostDone(s.Name, h.Name) {
					out.Attention = append(out.Attention, fmt.Sprintf("%s: failed in stage %s within its max_failed; left as it is", h.Name, s.Name))
					continue
				}
				done = append(done, h.Name)
			}
		}
	}
	if err := x.setLive(context.WithoutCancel(ctx), done, x.ro.Release); err != nil {
		return x.outcome(), x.storeErr(err)
	}
	for _, a := range out.Attention {
		x.journal(ctx, store.Event{Kind: store.KindRun, Action: ActionNeedsAttention, Message: a})
	}
	err := x.setState(ctx, []store.State{store.StateRunning, store.StateVerifying}, store.StateSucceeded,
		fmt.Sprintf("release %s is live", x.ro.Release))
	out.Run = x.run
	return out, err
}

// setLive records release as live on hosts, in one transaction when the
// store can.
func (x *execution) setLive(ctx context.Context, hosts []string, release string) error {
	if many, ok := x.e.o.Store.(interface {
		SetLiveMany(ctx context.Context, plan, env string, hosts []string, release, runID string) error
	}); ok {
		return many.SetLiveMany(ctx, x.ro.Plan, x.ro.Env, hosts, release, x.run.ID)
	}
	for _, h := range hosts {
		if err := x.e.o.Store.SetLive(ctx, x.ro.Plan, x.ro.Env, h, release, x.run.ID); err != nil {
			return err
		}
	}
	return nil
}

// fail records why the run failed and backs out when it should.
func (x *execution) fail(ctx context.Context, cause error) (*Outcome, error) {
	reason := cause.Error()
	var abort *AbortError
	aborted := errors.As(cause, &abort)
	var lost *LockLostError
	if errors.As(cause, &lost) {
		// Someone else owns the run now; touch nothing more.
		x.lockLost = true
		return &Outcome{Run: x.run}, cause
	}
	if ctx.Err() != nil && !aborted {
		reason = "interrupted: " + reason
	}
	if aborted && abort.NoBackout {
		// Like backout.automatic: false: the run keeps the lock and waits
		// for `golive backout` or `golive resume --accept`.
		err := x.setState(ctx, []store.State{store.StateRunning, store.StateVerifying}, store.StateFailed, reason+" "+NoBackoutMark)
		return x.outcome(), err
	}
	if err := x.setState(ctx, []store.State{store.StateRunning, store.StateVerifying}, store.StateFailed, reason); err != nil {
		return x.outcome(), err
	}
	if !x.ro.AutoBack && !aborted {
		return x.outcome(), nil
	}
	return x.backout(ctx, reason)
}

func (x *execution) outcome() *Outcome { return &Outcome{Run: x.run} }

// Accept ends a failed run (automatic backout off) as it is: what
// finished stays, the run succeeds with the reason saying who accepted
// it, and the environment lock is released.
func (e *Engine) Accept(ctx context.Context, run store.Run, ro *rollout.Rollout, by string) (*Outcome, error) {
	if run.State != store.StateFailed {
		return nil, fmt.Errorf("run %s is %s; only a failed run can be accepted: %w", run.ID, run.State, ErrNotResumable)
	}
	events, err := e.o.Store.Events(ctx, run.ID, 0)
	if err != nil {
		return nil, err
	}
	x := e.newExecution(run, ro, replay(events))
	if err := x.takeOver(ctx); err != nil {
		return nil, err
	}
	defer x.unlock()
	defer x.closeConns()
	x.stopRemote(ctx) // what is accepted must not go on changing
	out := &Outcome{}
	for _, s := range ro.Stages {
		for _, b := range s.Batches {
			for _, h := range b.Hosts {
				switch {
				case x.hist.isHostDone(s.Name, h.Name):
					if err := e.o.Store.SetLive(ctx, ro.Plan, ro.Env, h.Name, ro.Release, run.ID); err != nil {
						return nil, err
					}
				case x.hist.touchedHost(s.Name, h.Name):
					out.Attention = append(out.Attention, fmt.Sprintf("%s: left half-done in stage %s (accepted as it is)", h.Name, s.Name))
				}
			}
		}
	}
	err = x.setState(ctx, []store.State{store.StateFailed}, store.StateSucceeded, fmt.Sprintf("accepted as it is by %s (was: %s)", by, run.Reason))
	out.Run = x.run
	return out, err
}
