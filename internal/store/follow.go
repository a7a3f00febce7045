package store

import (
	"context"
	"time"
)

// Follower is implemented by stores that tell of new journal events as
// they are committed (PostgreSQL: LISTEN/NOTIFY), so that followers (logs
// --follow, the server's event streams) need not poll.
type Follower interface {
	// Notify returns a channel that receives a value (without blocking
	// the store: values coalesce) whenever events of run runID may have
	// been committed, by any process, until ctx is done; then it is
	// closed. A follower reads them with Events after the last Seq it saw.
	Notify(ctx context.Context, runID string) (<-chan struct{}, error)
}

// DefaultPollEvery is how often FollowEvents polls a store that is not a
// Follower.
const DefaultPollEvery = 250 * time.Millisecond

// FollowEvents calls fn with each event of run runID after afterSeq, in
// order, as they are committed, until fn returns false, fn or the store
// fails, or ctx is done (nil error). It waits on the store's Notify when st
// (or a store it decorates) is a Follower, and otherwise polls every poll
// (DefaultPollEvery when 0). With a Follower it still re-reads every 5 s, in
// case a notification was lost with a connection.
func FollowEvents(ctx context.Context, st Store, runID string, afterSeq int64, poll time.Duration, fn func(Event) (bool, error)) error {
	if poll <= 0 {
		poll = DefaultPollEvery
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wake <-chan struct{}
	if f := FollowerOf(st); f != nil {
		ch, err := f.Notify(ctx, runID)
		if err == nil {
			wake, poll = ch, 5*time.Second
		}
	}
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-wake:
		}
		evs, err := st.Events(ctx, runID, afterSeq)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		for _, e := range evs {
			afterSeq = e.Seq
			more, err := fn(e)
			if err != nil || !more {
				return err
			}
		}
		t.Reset(poll)
	}
}

// FollowerOf returns st, or the store it decorates, as a Follower; nil
// when none is.
func FollowerOf(st Store) Follower {
	for st != nil {
		if f, ok := st.(Follower); ok {
			return f
		}
		u, ok := st.(interface{ Unwrap() Store })
		if !ok {
			return nil
		}
		st = u.Unwrap()
	}
	return nil
}
