package release

import (
	"context"
	"time"

	"github.com/golive-dev/golive/internal/store"
)

// lockReleaseWait bounds how long a follower waits, after a run's final
// state, for the "lock released" event its executor journals right after
// it. An executor that died in between never writes it.
const lockReleaseWait = 5 * time.Second

// FollowJournal calls fn with each event of run id after seq after, in
// order. With follow it keeps reading until the run has journaled its last
// event, or ctx ends (not an error): every is how often it reads when the
// store does not announce new events (default 300ms).
//
// A run's last event is not its final state: the executor releases the
// environment lock after it and journals that. So a run is followed to its
// end when its state is terminal, a read finds nothing new, and it does not
// hold the lock in a state that gives it back (succeeded, backed out,
// aborted) — or it has not given it back within lockReleaseWait.
func FollowJournal(ctx context.Context, st store.Store, id string, after int64, follow bool, every time.Duration, fn func(store.Event) error) error {
	if every <= 0 {
		every = 300 * time.Millisecond
	}
	// A store that announces new events (PostgreSQL: LISTEN/NOTIFY) wakes
	// the follower; it still re-reads now and then in case a notification
	// was lost with a connection. Others are polled.
	var wake <-chan struct{}
	if f := store.FollowerOf(st); f != nil && follow {
		if ch, err := f.Notify(ctx, id); err == nil {
			wake, every = ch, max(every, 5*time.Second)
		}
	}
	var end JournalEnd
	if follow && after > 0 {
		// The lock events may be before after: ask the store.
		if r, err := st.GetRun(ctx, id); err == nil {
			if l, err := st.GetLock(ctx, r.Plan, r.Env); err == nil && l.RunID == id {
				end.holds = true
			}
		}
	}
	for {
		events, err := st.Events(ctx, id, after)
		if err != nil {
			return err
		}
		for _, ev := range events {
			after = ev.Seq
			end.See(ev)
			if err := fn(ev); err != nil {
				return err
			}
		}
		if !follow {
			return nil
		}
		r, err := st.GetRun(ctx, id)
		if err != nil {
			return err
		}
		wait := every
		if r.State.Terminal() && len(events) == 0 {
			if end.Done(r.State, time.Now()) {
				return nil
			}
			wait = min(wait, 50*time.Millisecond)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-wake:
		case <-time.After(wait):
		}
	}
}

// JournalEnd tells, from a run's events read in order from its first,
// whether the run, once terminal, still owes its journal the lock's
// release (see FollowJournal).
type JournalEnd struct {
	holds    bool      // the last lock event: acquired or taken over
	terminal time.Time // when a read first found nothing after a terminal state
}

// See is called with each event, in order.
func (j *JournalEnd) See(ev store.Event) {
	j.seeRun(ev)
	if ev.Kind != store.KindLock {
		return
	}
	switch ev.Action {
	case store.ActionAcquired, store.ActionStolen:
		j.holds = true
	case store.ActionReleased:
		j.holds = false
	}
}

// force_aborted (release.Abort with Force) releases the lock without a
// lock event: it is the run's last event.
func (j *JournalEnd) seeRun(ev store.Event) {
	if ev.Kind == store.KindRun && ev.Action == ActionForceAborted {
		j.holds = false
	}
}

// Done is called when a read found nothing new and the run is in a
// terminal state.
func (j *JournalEnd) Done(s store.State, now time.Time) bool {
	switch s {
	case store.StateSucceeded, store.StateBackedOut, store.StateAborted:
	default:
		return true // failed and backout_failed keep the lock
	}
	if !j.holds {
		return true
	}
	if j.terminal.IsZero() {
		j.terminal = now
	}
	return now.Sub(j.terminal) >= lockReleaseWait
}
