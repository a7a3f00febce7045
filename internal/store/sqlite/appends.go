package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/golive-dev/golive/internal/store"
)

// Group commit.
//
// Every event must be durable when AppendEvent returns, and with
// synchronous=FULL each commit costs an fsync. Rather than one transaction
// per event, AppendEvent queues its event and waits; one writer goroutine per
// Store (started by Open, stopped by Close) takes every request queued when it
// becomes free (up to maxAppendBatch), writes them in one immediate
// transaction in the order they were queued, commits once, and only then
// answers each caller with its sequence number. Concurrent appenders thus
// share one fsync, and a lone appender still pays exactly one.
//
// Each event is written inside its own savepoint, so an event that fails (an
// unknown run: ErrNotFound) is rolled back alone and takes no sequence
// number, while the others in the batch commit. If the transaction itself
// fails (begin, a savepoint, commit), every caller in the batch gets the
// error and none of its events is stored.
//
// Once queued, an event is written: the batch does not use the callers'
// contexts, and AppendEvent waits for the outcome even when its ctx is
// canceled meanwhile (a wait of at most one batch commit, or the busy timeout
// when another process holds the database). So a nil error always means the
// event is durable, and an error (other than a failed commit, which leaves
// the outcome unknown, as it always did) means it was not written: the
// caller never has to guess. A ctx that is already done before the event is
// queued makes AppendEvent return ctx.Err() without writing anything.
//
// Other writes (CreateRun, UpdateRunState, locks, ...) keep their own
// transactions under the same mutex as the batches; a goroutine that appended
// and then writes sees its append committed first, since AppendEvent returns
// only after the commit.

// maxAppendBatch is the most events written in one transaction, and the
// capacity of the queue.
const maxAppendBatch = 1024

// appendReq is one AppendEvent waiting for the writer.
type appendReq struct {
	e     store.Event
	epoch int64             // the lease epoch the append is fenced with (0: none)
	done  chan appendResult // buffered: the writer never blocks on it
}

type appendResult struct {
	seq int64
	err error
}

// AppendEvent implements store.Journal. See the group commit notes above.
func (s *Store) AppendEvent(ctx context.Context, e store.Event) (int64, error) {
	if err := e.Validate(); err != nil {
		return 0, err
	}
	if e.Time.IsZero() {
		e.Time = s.clock()
	}
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("run %s: append event: %w", e.RunID, err)
	}
	req := &appendReq{e: e, epoch: store.FenceEpoch(ctx, e.RunID), done: make(chan appendResult, 1)}
	if err := s.enqueue(ctx, req); err != nil {
		return 0, fmt.Errorf("run %s: append event: %w", e.RunID, err)
	}
	// Queued: the event will be written whatever happens to ctx; wait for the
	// outcome so that the answer is the truth.
	res := <-req.done
	return res.seq, res.err
}

// enqueue hands req to the writer. It fails, without queuing, when the store
// is closed or ctx is done before the queue has room.
func (s *Store) enqueue(ctx context.Context, req *appendReq) error {
	s.closeMu.RLock()
	defer s.closeMu.RUnlock()
	if s.closed {
		return fmt.Errorf("sqlite %s: store is closed", s.path)
	}
	select {
	case s.appends <- req:
		s.queued.Add(1)
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// appendLoop is the writer goroutine: it writes batches of queued appends
// until Close closes the queue and everything queued has been written.
func (s *Store) appendLoop() {
	defer close(s.writerDone)
	batch := make([]*appendReq, 0, maxAppendBatch)
	for first := range s.appends {
		batch = store.TakeBatch(batch, first, s.appends, maxAppendBatch)
		s.appendBatch(batch)
		clear(batch)
	}
}

// appendBatch writes batch in one transaction, in order, and answers every
// request after the commit.
func (s *Store) appendBatch(batch []*appendReq) {
	ctx := context.Background() // see the notes above: queued events are written
	results := make([]appendResult, len(batch))
	err := s.write(ctx, func(tx *sql.Tx) error {
		seqStmt := tx.StmtContext(ctx, s.seqStmt)
		insertStmt := tx.StmtContext(ctx, s.insertStmt)
		for i, req := range batch {
			if _, err := tx.ExecContext(ctx, `SAVEPOINT append_event`); err != nil {
				return fmt.Errorf("savepoint: %w", err)
			}
			seq, err := insertEvent(ctx, tx, seqStmt, insertStmt, req.e, req.epoch)
			if err != nil {
				// Undo this event alone. If that fails the transaction is
				// gone (SQLite rolled it back): fail the whole batch.
				if _, rerr := tx.ExecContext(ctx, `ROLLBACK TO append_event`); rerr != nil {
					return fmt.Errorf("%w; rollback to savepoint: %w", err, rerr)
				}
			}
			if _, rerr := tx.ExecContext(ctx, `RELEASE append_event`); rerr != nil {
				return fmt.Errorf("release savepoint: %w", rerr)
			}
			results[i] = appendResult{seq: seq, err: err}
		}
		return nil
	})
	if err == nil {
		s.commits.Add(1)
	}
	for i, req := range batch {
		if err != nil {
			results[i] = appendResult{err: fmt.Errorf("run %s: append event: %w", req.e.RunID, err)}
		}
		req.done <- results[i]
	}
}
