package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/golive-dev/golive/internal/store"
)

// Group commit, as in the SQLite store: AppendEvent queues its event and
// waits; one writer goroutine takes every request queued when it becomes
// free (up to maxAppendBatch) and writes them in one transaction, sent as
// one pipelined batch (one round trip), with one NOTIFY per run, commits
// once and only then answers each caller. Concurrent appenders share a
// commit; a lone appender pays one round trip and one commit.
//
// Each event carries a random token. When the connection is lost (a
// restart of PostgreSQL), the batch is retried on a new connection for up
// to retryFor; an event whose earlier attempt did commit is recognised by
// its token and answered with the seq it got, so nothing is stored twice
// and no seq is skipped.
//
// An event refused on its own (an unknown run: ErrNotFound; a stale lease:
// *store.FencedError) stores nothing and takes no seq, while the others in
// the batch commit. If the batch fails for another reason, each of its
// events is tried again in a transaction of its own, so that one bad event
// cannot fail its neighbours.
//
// Once queued, an event is written whatever happens to the caller's ctx,
// and AppendEvent waits for the outcome: a nil error means the event is
// durable, an error means it was not stored (or, after retryFor without a
// connection, that its outcome is unknown; an executor's event, written
// under its lease, waits for a connection as long as it takes, or until
// the store is closed).

const maxAppendBatch = 1024

type appendReq struct {
	e     store.Event
	token string
	epoch int64
	done  chan appendResult
}

type appendResult struct {
	seq int64
	err error
}

// errCheck marks an event appendSQL stored nothing for: why is decided
// after the batch.
var errCheck = errors.New("check")

// AppendEvent implements store.Journal.
func (s *Store) AppendEvent(ctx context.Context, e store.Event) (int64, error) {
	if err := e.Validate(); err != nil {
		return 0, err
	}
	if e.Time.IsZero() {
		e.Time = s.clock()
	}
	e.Time = e.Time.UTC().Truncate(time.Microsecond)
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("run %s: append event: %w", e.RunID, err)
	}
	var tok [16]byte
	_, _ = rand.Read(tok[:])
	req := &appendReq{e: e, token: hex.EncodeToString(tok[:]), epoch: store.FenceEpoch(ctx, e.RunID),
		done: make(chan appendResult, 1)}
	if err := s.enqueue(ctx, req); err != nil {
		return 0, fmt.Errorf("run %s: append event: %w", e.RunID, err)
	}
	res := <-req.done
	return res.seq, res.err
}

func (s *Store) enqueue(ctx context.Context, req *appendReq) error {
	s.closeMu.RLock()
	defer s.closeMu.RUnlock()
	if s.closed {
		return fmt.Errorf("postgres %s: store is closed", s.Path())
	}
	select {
	case s.appends <- req:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Store) appendLoop() {
	defer close(s.writerDone)
	batch := make([]*appendReq, 0, maxAppendBatch)
	for first := range s.appends {
		batch = store.TakeBatch(batch, first, s.appends, maxAppendBatch)
		results, err := s.writeBatch(batch)
		// A batch refused by PostgreSQL itself (not for want of a
		// connection, which writeBatch already retried): try each event
		// alone, so that one bad event cannot fail its neighbours.
		if err != nil && len(batch) > 1 && !errors.Is(err, errUnreachable) && !errors.Is(err, errClosed) {
			for i, req := range batch {
				r, err := s.writeBatch(batch[i : i+1])
				if err != nil {
					r = []appendResult{{err: err}}
				}
				req.done <- r[0]
			}
		} else {
			for i, req := range batch {
				if err != nil {
					results[i] = appendResult{err: fmt.Errorf("run %s: append event: %w", req.e.RunID, err)}
				}
				req.done <- results[i]
			}
		}
		clear(batch)
	}
}

// writeBatch writes batch in one transaction (retried while the
// connection is lost) and returns each event's outcome.
func (s *Store) writeBatch(batch []*appendReq) ([]appendResult, error) {
	ctx := context.Background()
	results := make([]appendResult, len(batch))
	// Patient (see retry) when an executor waits on it: its journal
	// waits for PostgreSQL rather than fail the run.
	patient := false
	for _, req := range batch {
		patient = patient || req.epoch > 0
	}
	err := s.retry(ctx, patient, func(int) error {
		return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			b := &pgx.Batch{}
			var runs []string
			seen := map[string]bool{}
			for _, req := range batch {
				b.Queue(appendSQL, appendArgs(req.e, req.token, req.epoch)...)
				if !seen[req.e.RunID] {
					seen[req.e.RunID] = true
					runs = append(runs, req.e.RunID)
				}
			}
			for _, id := range runs {
				b.Queue(`SELECT pg_notify($1, $2)`, notifyChannel, id)
			}
			br := tx.SendBatch(ctx, b)
			for i := range batch {
				var seq int64
				err := br.QueryRow().Scan(&seq)
				switch {
				case errors.Is(err, pgx.ErrNoRows):
					results[i] = appendResult{err: errCheck}
				case err != nil:
					_ = br.Close()
					return err
				default:
					results[i] = appendResult{seq: seq}
				}
			}
			for range runs {
				if _, err := br.Exec(); err != nil {
					_ = br.Close()
					return err
				}
			}
			if err := br.Close(); err != nil {
				return err
			}
			for i, req := range batch {
				if results[i].err == errCheck {
					results[i].err = fenceOrNotFound(ctx, tx, req.e.RunID, req.epoch)
				}
			}
			return nil
		})
	})
	if err == nil {
		s.commits.Add(1)
	}
	return results, err
}
