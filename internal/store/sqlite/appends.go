package sqlite

import (
	"context"
	"database/sql"
	"errors"
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
// The batch reads each run's last sequence number and lease epoch once
// (selectSeqSQL), numbers that run's events in Go, inserts each with one
// prepared statement and writes the run's new last_seq once at the end
// (setSeqSQL): two statements per run plus one per event, all prepared once
// per Store. An event that fails alone takes no sequence number while the
// others in the batch commit: an unknown run (ErrNotFound) or a stale lease
// epoch (*store.FencedError) is found before anything is written, and an
// INSERT that violates a constraint is undone by SQLite alone (a statement's
// changes are rolled back on a constraint error, the transaction stays
// open), so no savepoint is needed. Any other error (begin, an I/O error,
// commit) may have ended the transaction: every caller in the batch gets the
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
		w := &batchWriter{
			ctx:    ctx,
			tx:     tx,
			get:    tx.StmtContext(ctx, s.selectSeqStmt),
			set:    tx.StmtContext(ctx, s.setSeqStmt),
			insert: tx.StmtContext(ctx, s.insertStmt),
			runs:   make(map[string]*batchRun),
		}
		for i, req := range batch {
			seq, err, fatal := w.append(req.e, req.epoch)
			if fatal != nil {
				return fatal
			}
			results[i] = appendResult{seq: seq, err: err}
		}
		return w.finish()
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

// batchWriter numbers and inserts the events of one batch inside its
// transaction.
type batchWriter struct {
	ctx              context.Context
	tx               *sql.Tx
	get, set, insert *sql.Stmt // selectSeqSQL, setSeqSQL, insertEventSQL on tx
	runs             map[string]*batchRun
	order            []*batchRun // runs in the order the batch first met them
}

// batchRun is what the batch knows of one run.
type batchRun struct {
	id      string
	err     error // the run does not exist (or could not be read)
	lastSeq int64 // the last sequence number taken, in this batch or before
	epoch   int64 // the run's lease epoch
	written bool  // lastSeq moved: finish writes it
}

// run returns what the batch knows of run id, reading it the first time.
func (w *batchWriter) run(id string) (*batchRun, error) {
	if r, ok := w.runs[id]; ok {
		return r, nil
	}
	r := &batchRun{id: id}
	err := w.get.QueryRowContext(w.ctx, id).Scan(&r.lastSeq, &r.epoch)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		r.err = fmt.Errorf("run %s: %w", id, store.ErrNotFound)
	case err != nil:
		return nil, fmt.Errorf("run %s: append event: %w", id, err)
	}
	w.runs[id] = r
	w.order = append(w.order, r)
	return r, nil
}

// append inserts e with its run's next sequence number. err fails e alone
// (nothing written); fatal fails the whole batch.
func (w *batchWriter) append(e store.Event, epoch int64) (seq int64, err, fatal error) {
	r, fatal := w.run(e.RunID)
	if fatal != nil {
		return 0, nil, fatal
	}
	if r.err != nil {
		return 0, r.err, nil
	}
	if epoch != 0 && epoch != r.epoch {
		err := checkFence(w.ctx, w.tx, e.RunID, epoch) // the error with the current holder
		if err == nil {
			err = fmt.Errorf("run %s: append event: lease epoch %d changed", e.RunID, epoch)
		}
		return 0, err, nil
	}
	seq = r.lastSeq + 1
	if err := execInsert(w.ctx, w.insert, e, seq); err != nil {
		if isConstraint(err, 0) {
			return 0, err, nil
		}
		return 0, nil, err
	}
	r.lastSeq, r.written = seq, true
	return seq, nil, nil
}

// finish writes the new last_seq of every run the batch appended to.
func (w *batchWriter) finish() error {
	for _, r := range w.order {
		if !r.written {
			continue
		}
		if _, err := w.set.ExecContext(w.ctx, r.lastSeq, r.id); err != nil {
			return fmt.Errorf("run %s: append event: %w", r.id, err)
		}
	}
	return nil
}
