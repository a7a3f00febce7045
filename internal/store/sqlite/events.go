package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/golive-dev/golive/internal/store"
)

const (
	seqSQL         = `UPDATE runs SET last_seq = last_seq + 1 WHERE id = ? AND (? = 0 OR lease_epoch = ?) RETURNING last_seq`
	insertEventSQL = `INSERT INTO events (run_id, seq, time_us, kind, action, stage,
		batch, host, step, exit_code, duration_ns, output, message, actor,
		actor_via, actor_os_user, actor_token)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	// The group commit (appends.go) reads a run's sequence once per batch
	// and writes it back once.
	selectSeqSQL = `SELECT last_seq, lease_epoch FROM runs WHERE id = ?`
	setSeqSQL    = `UPDATE runs SET last_seq = ? WHERE id = ?`
)

// appendEvent takes the run's next sequence number and inserts e with it,
// inside tx, with the store's prepared statements. Its callers' tx has
// read or written the run already (it exists, its lease was checked), so
// the sequence update matches it: epoch 0 skips the fence.
func (s *Store) appendEvent(ctx context.Context, tx *sql.Tx, e store.Event) (int64, error) {
	var seq int64
	if err := tx.StmtContext(ctx, s.seqStmt).QueryRowContext(ctx, e.RunID, 0, 0).Scan(&seq); err != nil {
		return 0, fmt.Errorf("run %s: append event: %w", e.RunID, err)
	}
	if err := execInsert(ctx, tx.StmtContext(ctx, s.insertStmt), e, seq); err != nil {
		return 0, err
	}
	return seq, nil
}

// execInsert inserts e with seq with insertStmt (insertEventSQL).
func execInsert(ctx context.Context, insertStmt *sql.Stmt, e store.Event, seq int64) error {
	var exit sql.NullInt64
	if e.ExitCode != nil {
		exit = sql.NullInt64{Int64: int64(*e.ExitCode), Valid: true}
	}
	e.FillIdentities()
	_, err := insertStmt.ExecContext(ctx,
		e.RunID, seq, micros(e.Time), e.Kind, e.Action, e.Stage, e.Batch, e.Host, e.Step,
		exit, int64(e.Duration), store.TailOutput(e.Output), e.Message, e.Actor,
		e.ActorVia, e.ActorOSUser, e.ActorToken)
	if err != nil {
		return fmt.Errorf("run %s: append event: %w", e.RunID, err)
	}
	return nil
}

// Events implements store.Journal.
func (s *Store) Events(ctx context.Context, runID string, afterSeq int64) ([]store.Event, error) {
	events, err := queryAll(ctx, s.db, scanEvent, `SELECT `+eventColumns+`
		FROM events WHERE run_id = ? AND seq > ? ORDER BY seq`, runID, afterSeq)
	if err != nil {
		return nil, fmt.Errorf("run %s: events: %w", runID, err)
	}
	if len(events) == 0 {
		// Every run has at least its creation event, so no events means no run
		// or nothing new yet.
		if err := runExists(ctx, s.db, runID); err != nil {
			return nil, err
		}
	}
	return events, nil
}
