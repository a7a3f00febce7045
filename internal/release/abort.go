package release

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/golive-dev/golive/internal/engine"
	"github.com/golive-dev/golive/internal/store"
)

// ActionForceAborted journals an abort with Force: the run marked aborted
// and its lock released by the one who asked, not by its executor.
const ActionForceAborted store.Action = "force_aborted"

// AbortOptions stop a run.
type AbortOptions struct {
	Run       RunRef
	By        store.Identity
	Reason    string
	NoBackout bool // stop without backing out
	// Follow waits until the run's controller has stopped working on it
	// (else the call returns once the abort is requested).
	Follow   bool
	Parallel int
	Watch    Watch
}

// AbortResult is what an abort did.
type AbortResult struct {
	Was store.State // the run's state when the abort was asked
	Run store.Run   // the run now
	// Requested: a live controller was asked to stop (Holder); with
	// Follow, Run is how it ended.
	Requested bool
	Holder    store.Holder
	// Cancelled: the run was only waiting and is aborted; nothing had
	// been changed by it.
	Cancelled bool
	// StoppedNoBackout: nobody executed the run, and it was stopped as it
	// is (NoBackout): it is failed and keeps the lock.
	StoppedNoBackout bool
	// Backout: nobody executed the run, and this call backed it out.
	Backout *Result
}

// Abort asks the controller executing a run to stop (it terminates what
// runs and backs out, unless NoBackout); a waiting run is cancelled; a run
// whose controller is gone is backed out by this call. With a Backout,
// the error is that of the backout (see Start).
func (s *Service) Abort(ctx context.Context, o AbortOptions) (*AbortResult, error) {
	if err := checkOnRun(o.Run, o.By, o.Reason); err != nil {
		return nil, err
	}
	st, r, unloaded, err := s.onRunWriting(ctx, o.Run, true)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	switch r.State {
	case store.StatePending, store.StateWaiting, store.StateRunning, store.StateVerifying, store.StateBackingOut, store.StatePaused:
	default:
		return nil, errorf(Conflict, "run %s is %s: it is not running", r.ID, r.State)
	}
	if unloaded != nil && o.Reason != "" {
		o.Watch.note(fmt.Sprintf("the secrets could not be loaded (%v): the reason is recorded as given", unloaded))
	}
	res := &AbortResult{Was: r.State, Run: r}
	why := "aborted by " + o.By.String()
	if o.Reason != "" {
		why += ": " + o.Reason
	}
	if r.State == store.StatePending || r.State == store.StateWaiting {
		if res.Run, err = st.UpdateRunState(ctx, r.ID, []store.State{r.State}, store.StateAborted, why); err != nil {
			return nil, err
		}
		res.Cancelled = true
		return res, nil
	}
	// Running, verifying, backing out or paused (a paused run has changed
	// targets and its controller has exited: it is backed out below like
	// a run whose controller is gone).
	lock, err := st.GetLock(ctx, r.Plan, r.Env)
	if err := engine.RequestAbortBy(ctx, st, r.ID, o.By, o.Reason, o.NoBackout); err != nil {
		return nil, err
	}
	lease, _ := st.GetLease(ctx, r.ID) // Epoch 0: never leased
	if executing(r.ID, lock, err, lease, time.Now()) {
		res.Requested, res.Holder = true, lock.Holder
		and := " and backing out"
		if o.NoBackout {
			and = ""
		}
		o.Watch.note(fmt.Sprintf("abort of run %s requested; its controller (%s) is terminating%s", r.ID, lock.Holder, and))
		if o.Follow {
			res.Run, err = s.waitEnd(ctx, st, r.ID)
		}
		return res, err
	}
	// Nobody is executing the run: do it here.
	if o.NoBackout {
		if res.Run, err = st.UpdateRunState(ctx, r.ID, []store.State{r.State}, store.StateFailed, why+" (no backout); its controller was gone"); err != nil {
			return nil, err
		}
		res.StoppedNoBackout = true
		return res, nil
	}
	o.Watch.note(fmt.Sprintf("run %s has no live controller; backing it out here", r.ID))
	res.Backout, err = s.backoutHere(ctx, o.Run.Plan, r, why, o.Parallel, &o.Watch)
	if res.Backout != nil && res.Backout.Outcome != nil {
		res.Run = res.Backout.Run
	}
	return res, err
}

// waitEnd follows an aborted run until its controller stops working on
// it. If the controller dies meanwhile, it is an Incomplete error.
func (s *Service) waitEnd(ctx context.Context, st store.Store, id string) (store.Run, error) {
	for {
		r, err := st.GetRun(ctx, id)
		if err != nil {
			return r, err
		}
		lock, lerr := st.GetLock(ctx, r.Plan, r.Env)
		lease, _ := st.GetLease(ctx, id)
		working := executing(r.ID, lock, lerr, lease, time.Now())
		// A run is "failed" for a moment before its controller backs it
		// out: while that controller lives, failed is not the end.
		if r.State.Terminal() && !(r.State == store.StateFailed && working) {
			return r, nil
		}
		if !working {
			return r, errorf(Incomplete, "run %s is %s but its controller is gone: run `golive backout %s` to finish", r.ID, r.State, r.ID)
		}
		select {
		case <-ctx.Done():
			return r, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// ForceAbortOptions clear a stuck run without touching any target.
type ForceAbortOptions struct {
	Run    RunRef
	By     store.Identity
	Reason string // required: it is recorded
	// Note, when set, is told what a person should know: the secrets
	// could not be loaded, so the reason is recorded as given.
	Note func(string)
}

// ForceAbort marks a stuck run aborted and releases its lock; no target
// is touched. It returns the run as it was and as it is.
func (s *Service) ForceAbort(ctx context.Context, o ForceAbortOptions) (was, now store.Run, err error) {
	if err := checkOnRun(o.Run, o.By, o.Reason); err != nil {
		return was, now, err
	}
	if o.Reason == "" {
		return was, now, errorf(Invalid, "a forced abort needs a reason (it is recorded)")
	}
	st, r, unloaded, err := s.onRunWriting(ctx, o.Run, true)
	if err != nil {
		return was, now, err
	}
	defer st.Close()
	from := []store.State{store.StatePending, store.StateWaiting, store.StateRunning, store.StatePaused, store.StateVerifying,
		store.StateFailed, store.StateBackingOut, store.StateBackoutFailed}
	r2, err := st.UpdateRunState(ctx, r.ID, from, store.StateAborted, fmt.Sprintf("force-aborted by %s: %s (targets were not touched by this)", o.By, o.Reason))
	switch {
	case errors.Is(err, store.ErrStateConflict) && r.State == store.StateAborted:
		r2 = r // already aborted: still release a lock it may hold
	case errors.Is(err, store.ErrStateConflict):
		return r, r, &Error{Kind: Conflict, Msg: fmt.Sprintf("run %s is already %s", r.ID, r.State), Err: err}
	case err != nil:
		return r, r, err
	}
	if unloaded != nil && o.Note != nil {
		o.Note(fmt.Sprintf("the secrets could not be loaded (%v): the reason is recorded as given", unloaded))
	}
	if l, err := st.GetLock(ctx, r.Plan, r.Env); err == nil && l.RunID == r.ID {
		if err := st.ReleaseLock(ctx, r.Plan, r.Env, r.ID); err != nil {
			return r, r2, err
		}
	}
	st.AppendEvent(ctx, store.Event{RunID: r.ID, Kind: store.KindRun, Action: ActionForceAborted,
		Actor: o.By.Name, ActorVia: o.By.Via, ActorOSUser: o.By.OSUser, ActorToken: o.By.Token, Message: o.Reason})
	return r, r2, nil
}
