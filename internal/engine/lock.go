package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/golive-dev/golive/internal/store"
)

// lock takes the environment lock for the run; a lock held by another run
// is a *store.LockedError (waiting for it is waitUnlocked's job, before
// the run is released). A lock whose holder is gone is not taken silently:
// the error names it, so that its run is resumed or backed out first.
func (x *execution) lock(ctx context.Context) error {
	l := x.lockRecord()
	if _, err := x.e.o.Store.AcquireLock(ctx, l); err != nil {
		return err
	}
	if err := x.takeLease(ctx, false); err != nil {
		_ = x.e.o.Store.ReleaseLock(context.WithoutCancel(ctx), l.Plan, l.Env, l.RunID)
		return err
	}
	x.journal(ctx, store.Event{Kind: store.KindLock, Action: store.ActionAcquired, Message: "environment lock held by " + l.Holder.String()})
	return nil
}

// waitUnlocked waits up to wait for the environment lock to be free; a
// lock still held then is a *store.LockedError.
func (e *Engine) waitUnlocked(ctx context.Context, plan, env string, wait time.Duration) error {
	deadline := e.o.Clock.Now().Add(wait)
	for {
		l, err := e.o.Store.GetLock(ctx, plan, env)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if !e.o.Clock.Now().Before(deadline) {
			return &store.LockedError{Lock: l}
		}
		if err := e.o.Clock.Sleep(ctx, min(time.Second, deadline.Sub(e.o.Clock.Now()))); err != nil {
			return err
		}
	}
}

func (x *execution) lockRecord() store.Lock {
	return store.Lock{Plan: x.run.Plan, Env: x.run.Env, RunID: x.run.ID, Holder: x.e.o.Holder, Requester: x.run.Requester}
}

// HolderBusyError says a run is being executed by a live controller.
type HolderBusyError struct{ Lock store.Lock }

func (e *HolderBusyError) Error() string {
	msg := fmt.Sprintf("run %s is being executed by %s (heartbeat %s)", e.Lock.RunID, e.Lock.Holder, e.Lock.HeartbeatAt.Format(time.RFC3339))
	if here := store.ThisHolder(); e.Lock.Holder.Hostname == here.Hostname && e.Lock.Holder.PIDSpace != here.PIDSpace {
		msg += fmt.Sprintf("; it runs in another pid namespace or boot, so it counts as gone only %s after its last heartbeat", store.HeartbeatTimeout)
	}
	return msg
}

// takeOver takes the lock of an existing run: from nobody, from itself,
// or from a holder that is gone. A live holder is a *HolderBusyError; a
// lock held by another run is a *store.LockedError.
func (x *execution) takeOver(ctx context.Context) error {
	if t := x.e.o.TakenOver; t != nil && t.RunID == x.run.ID && t.Epoch > 0 {
		return x.adopt(ctx, *t)
	}
	next := x.lockRecord()
	cur, err := x.e.o.Store.GetLock(ctx, x.run.Plan, x.run.Env)
	switch {
	case errors.Is(err, store.ErrNotFound):
		if _, err = x.e.o.Store.AcquireLock(ctx, next); err != nil {
			return err
		}
		return x.takeLease(ctx, false)
	case err != nil:
		return err
	case cur.RunID != x.run.ID:
		return &store.LockedError{Lock: cur}
	case cur.Holder == next.Holder:
		return x.takeLease(ctx, true)
	}
	if !store.HolderGone(cur, x.e.o.Clock.Now(), store.ThisHolder(), store.PIDAlive) && !x.leaseExpired(ctx) {
		return &HolderBusyError{Lock: cur}
	}
	if _, err := x.e.o.Store.StealLock(ctx, cur, next); err != nil {
		return err
	}
	// The new lease's epoch fences the old holder: should it still run
	// (paused, cut off), the store refuses its every write.
	if err := x.takeLease(ctx, true); err != nil {
		return err
	}
	return x.journal(ctx, store.Event{Kind: store.KindLock, Action: store.ActionStolen,
		Message: fmt.Sprintf("taken over from %s, which is gone", cur.Holder)})
}

// adopt makes this process the run's executor under lease l, which the
// caller took over (its old holder stopped renewing it): the lease must
// still be the run's (renewing it proves it), and the environment lock is
// taken from whoever holds it for the run. The lease decides, not the old
// holder's pid: a paused holder is alive but fenced.
func (x *execution) adopt(ctx context.Context, l store.Lease) error {
	asked := time.Now()
	l, err := x.e.o.Store.RenewLease(ctx, l, x.e.o.LeaseTTL)
	if err != nil {
		return fmt.Errorf("run %s: lease: %w", x.run.ID, err)
	}
	x.lease = l
	x.leaseRenewed(asked)
	next := x.lockRecord()
	cur, err := x.e.o.Store.GetLock(ctx, x.run.Plan, x.run.Env)
	switch {
	case errors.Is(err, store.ErrNotFound):
		_, err = x.e.o.Store.AcquireLock(ctx, next)
		return err
	case err != nil:
		return err
	case cur.RunID != x.run.ID:
		return &store.LockedError{Lock: cur}
	case cur.Holder == next.Holder:
		return nil
	}
	if _, err := x.e.o.Store.StealLock(ctx, cur, next); err != nil {
		return err
	}
	return x.journal(ctx, store.Event{Kind: store.KindLock, Action: store.ActionStolen,
		Message: fmt.Sprintf("taken over from %s with the run's lease (epoch %d)", cur.Holder, l.Epoch)})
}

// leaseHolder names this process as the holder of a run's lease.
func (x *execution) leaseHolder() string { return LeaseHolder(x.e.o.Holder) }

// LeaseHolder is how the engine of process h names itself as the holder
// of a run's lease.
func LeaseHolder(h store.Holder) string {
	if h.PIDSpace != "" {
		return fmt.Sprintf("%s (%s)", h, h.PIDSpace)
	}
	return h.String()
}

// takeLease makes this process the run's executor: it acquires the run's
// lease with a new epoch, which fences every earlier executor; when gone
// (its holder is known to be gone) it steals a lease that has not expired
// yet.
func (x *execution) takeLease(ctx context.Context, gone bool) error {
	asked := time.Now()
	l, err := x.e.o.Store.AcquireLease(ctx, x.run.ID, x.leaseHolder(), x.e.o.LeaseTTL)
	var held *store.LeaseHeldError
	if errors.As(err, &held) && gone {
		l, err = x.e.o.Store.StealLease(ctx, held.Lease, x.leaseHolder(), x.e.o.LeaseTTL)
	}
	if err != nil {
		return fmt.Errorf("run %s: %w", x.run.ID, err)
	}
	x.lease = l
	x.leaseRenewed(asked)
	return nil
}

// leaseRenewed records that the lease was granted or renewed by a call
// made at asked: it lasts at least until asked + TTL, and this process
// counts on two thirds of that.
func (x *execution) leaseRenewed(asked time.Time) {
	x.leaseMu.Lock()
	defer x.leaseMu.Unlock()
	if v := asked.Add(x.e.o.LeaseTTL * 2 / 3); v.After(x.leaseValid) {
		x.leaseValid = v
	}
}

// stillExecutor is called right before a command acts on a target: the
// journal says it started, but this process may have been paused (SIGSTOP,
// a frozen VM) or cut off from the store since, long enough for another
// controller to take the run over. When the lease may have expired by this
// process's own clock, it renews it first: a *LockLostError when the run
// was taken over (run nothing), a store failure when the store cannot say
// (start nothing new).
func (x *execution) stillExecutor(ctx context.Context) error {
	if x.lease.Epoch == 0 {
		return nil
	}
	x.leaseMu.Lock()
	valid := time.Now().Before(x.leaseValid)
	x.leaseMu.Unlock()
	if valid {
		return nil
	}
	asked := time.Now()
	_, err := x.e.o.Store.RenewLease(ctx, x.lease, x.e.o.LeaseTTL)
	if err != nil {
		return fmt.Errorf("run %s: lease: %w", x.run.ID, x.storeErr(err))
	}
	x.leaseRenewed(asked)
	return nil
}

// leaseExpired reports whether the run's lease was held and has expired:
// its holder stopped renewing it (killed, paused, cut off from the
// store), whatever its pid says. Lease times are the store's, so this
// compares with the real time, not the engine's clock.
func (x *execution) leaseExpired(ctx context.Context) bool {
	l, err := x.e.o.Store.GetLease(ctx, x.run.ID)
	return err == nil && l.Epoch > 0 && l.Expired(time.Now())
}

// fenced returns ctx carrying the run's lease, so that the store refuses
// the write once another controller took the run over.
func (x *execution) fenced(ctx context.Context) context.Context {
	if x.lease.Epoch == 0 {
		return ctx
	}
	return store.WithLease(ctx, x.lease)
}

// renew renews lease, returning the renewed one; fenced reports that
// another controller took the run over.
func (x *execution) renew(ctx context.Context, lease store.Lease) (_ store.Lease, fenced error) {
	if lease.Epoch == 0 {
		return lease, nil
	}
	asked := time.Now()
	l, err := x.e.o.Store.RenewLease(ctx, lease, x.e.o.LeaseTTL)
	if err == nil {
		x.leaseRenewed(asked)
	}
	switch {
	case errors.Is(err, store.ErrFenced):
		return lease, err
	case err != nil:
		return lease, nil // a passing store failure: try again next beat
	}
	return l, nil
}

func (x *execution) unlock() {
	ctx := context.Background()
	switch x.run.State {
	case store.StateSucceeded, store.StateBackedOut, store.StateAborted, store.StatePending, store.StateWaiting:
	default:
		// failed, backout_failed, paused: the targets are not as they
		// should be; running, verifying, backing_out here mean an error
		// left the run unfinished. Keep the environment locked to this run
		// until it is backed out, accepted or resumed.
		return
	}
	if x.lockLost {
		return
	}
	if x.lease.Epoch > 0 {
		_ = x.e.o.Store.ReleaseLease(ctx, x.lease)
	}
	if err := x.e.o.Store.ReleaseLock(ctx, x.run.Plan, x.run.Env, x.run.ID); err == nil {
		x.journal(ctx, store.Event{Kind: store.KindLock, Action: store.ActionReleased, Message: "environment lock released"})
	}
}

// watch runs the lock heartbeat and looks for abort requests until the
// returned stop is called; either ends the run through cancel.
func (x *execution) watch(ctx context.Context, cancel context.CancelCauseFunc) (stop func()) {
	wctx, wcancel := context.WithCancel(ctx)
	done := make(chan struct{})
	// setState rewrites x.run while this runs: read what the watcher needs once.
	runID, lock, lease := x.run.ID, x.lockRecord(), x.lease
	go func() {
		defer close(done)
		lastBeat := x.e.o.Clock.Now()
		for {
			if err := x.e.o.Clock.Sleep(wctx, x.e.o.PollEvery); err != nil {
				return
			}
			if a := x.pollAbort(wctx, runID); a != nil {
				cancel(a)
				return
			}
			if x.e.o.Clock.Now().Sub(lastBeat) >= x.e.o.Heartbeat {
				lastBeat = x.e.o.Clock.Now()
				err := x.e.o.Store.Heartbeat(wctx, lock)
				if errors.Is(err, store.ErrLocked) || errors.Is(err, store.ErrNotFound) {
					cancel(&LockLostError{Err: err})
					return
				}
				var fenced error
				if lease, fenced = x.renew(wctx, lease); fenced != nil {
					cancel(&LockLostError{Err: fenced})
					return
				}
			}
		}
	}()
	return func() { wcancel(); <-done }
}

// heartbeat keeps the lock's heartbeat fresh (during a backout, which
// ignores aborts) until the returned stop is called; a lost lock sets
// lockLost, and the backout starts no further host.
func (x *execution) heartbeat(ctx context.Context) (stop func()) {
	hctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	lock, lease := x.lockRecord(), x.lease
	go func() {
		defer close(done)
		for {
			if err := x.e.o.Clock.Sleep(hctx, x.e.o.Heartbeat); err != nil {
				return
			}
			err := x.e.o.Store.Heartbeat(hctx, lock)
			if err == nil {
				lease, err = x.renew(hctx, lease)
			}
			if errors.Is(err, store.ErrLocked) || errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrFenced) {
				x.mu.Lock()
				x.lockLost = true
				x.mu.Unlock()
				return
			}
		}
	}()
	return func() { cancel(); <-done }
}

// pollAbort reads new journal events for an abort request.
func (x *execution) pollAbort(ctx context.Context, runID string) *AbortError {
	// Its own cursor: this controller's appends must not skip past an
	// abort another process appended in between.
	events, err := x.e.o.Store.Events(ctx, runID, x.abortCursor)
	if err != nil {
		return nil
	}
	for _, ev := range events {
		x.abortCursor = ev.Seq
		if ev.Kind == store.KindRun && ev.Action == ActionAbortRequested {
			x.hist.apply(ev)
		}
	}
	return x.hist.abortRequest()
}

// RequestAbort journals an operator's request to stop a run. The
// controller executing it notices within PollEvery.
func RequestAbort(ctx context.Context, st store.Store, runID, by, reason string, noBackout bool) error {
	return RequestAbortBy(ctx, st, runID, store.Identity{Name: by}, reason, noBackout)
}

// RequestAbortBy is RequestAbort by an identity with what vouches for it
// (an API token's name; empty Via: claimed at this process's CLI).
func RequestAbortBy(ctx context.Context, st store.Store, runID string, by store.Identity, reason string, noBackout bool) error {
	step := ""
	if noBackout {
		step = "no-backout"
	}
	_, err := st.AppendEvent(ctx, store.Event{RunID: runID, Kind: store.KindRun, Action: ActionAbortRequested, Step: step,
		Actor: by.Name, ActorVia: by.Via, ActorOSUser: by.OSUser, ActorToken: by.Token, Message: reason})
	return err
}
