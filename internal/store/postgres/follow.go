package postgres

import (
	"context"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// listener holds one connection that LISTENs on notifyChannel and wakes
// the subscribers of the run each notification names. When the connection
// is lost it reconnects and wakes every subscriber (notifications sent
// meanwhile were lost: followers re-read the journal).
type listener struct {
	dsn    string
	cancel context.CancelFunc
	done   chan struct{}

	mu   sync.Mutex
	subs map[string]map[chan struct{}]struct{}
}

// Notify implements store.Follower.
func (s *Store) Notify(ctx context.Context, runID string) (<-chan struct{}, error) {
	s.lmu.Lock()
	if s.listener == nil {
		lctx, cancel := context.WithCancel(context.Background())
		s.listener = &listener{dsn: s.dsn, cancel: cancel, done: make(chan struct{}),
			subs: map[string]map[chan struct{}]struct{}{}}
		go s.listener.run(lctx)
	}
	l := s.listener
	s.lmu.Unlock()

	ch := make(chan struct{}, 1)
	out := make(chan struct{}, 1)
	l.mu.Lock()
	if l.subs[runID] == nil {
		l.subs[runID] = map[chan struct{}]struct{}{}
	}
	l.subs[runID][ch] = struct{}{}
	l.mu.Unlock()
	go func() {
		defer close(out)
		defer func() {
			l.mu.Lock()
			delete(l.subs[runID], ch)
			if len(l.subs[runID]) == 0 {
				delete(l.subs, runID)
			}
			l.mu.Unlock()
		}()
		for {
			select {
			case <-ctx.Done():
				return
			case <-l.done:
				return
			case <-ch:
				select {
				case out <- struct{}{}:
				default:
				}
			}
		}
	}()
	return out, nil
}

func (l *listener) stop() {
	l.cancel()
	<-l.done
}

// wake signals the subscribers of runID, or all when runID is "".
func (l *listener) wake(runID string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for id, chans := range l.subs {
		if runID != "" && id != runID {
			continue
		}
		for ch := range chans {
			select {
			case ch <- struct{}{}:
			default:
			}
		}
	}
}

func (l *listener) run(ctx context.Context) {
	defer close(l.done)
	wait := 50 * time.Millisecond
	for ctx.Err() == nil {
		err := l.listen(ctx)
		if ctx.Err() != nil {
			return
		}
		_ = err
		l.wake("")
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(wait*2, 2*time.Second)
	}
}

// listen connects, LISTENs and dispatches notifications until the
// connection fails or ctx is done.
func (l *listener) listen(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, l.dsn)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "LISTEN "+notifyChannel); err != nil {
		return err
	}
	l.wake("") // anything committed before LISTEN took effect
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		l.wake(n.Payload)
	}
}
