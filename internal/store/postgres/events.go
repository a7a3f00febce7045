package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/golive-dev/golive/internal/store"
)

// notifyChannel is the channel NOTIFY announces appends on; the payload is
// the run id.
const notifyChannel = "golive_events"

// appendSQL appends one event: it takes the run's next sequence number,
// only when the writer's lease epoch ($3, 0 for none) is the run's, and
// inserts the event; an event whose token ($2) is already stored (its
// earlier attempt committed unseen) is not stored again and its seq is
// returned (a NULL token matches nothing). No row: the run does not exist,
// or the writer is fenced.
const appendSQL = `WITH prior AS (
	SELECT seq FROM events WHERE run_id = $1 AND token = $2
), s AS (
	UPDATE runs SET last_seq = last_seq + 1
	WHERE id = $1 AND ($3::bigint = 0 OR lease_epoch = $3::bigint) AND NOT EXISTS (SELECT 1 FROM prior)
	RETURNING last_seq
), ins AS (
	INSERT INTO events (run_id, seq, token, time, kind, action, stage, batch, host, step,
		exit_code, duration_ns, output, message, actor, actor_via, actor_os_user, actor_token)
	SELECT $1, s.last_seq, $2, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18 FROM s
	RETURNING seq
)
SELECT seq FROM ins UNION ALL SELECT seq FROM prior`

// appendArgs are appendSQL's arguments for e ("" token: none, NULL).
func appendArgs(e store.Event, token string, epoch int64) []any {
	var tok *string
	if token != "" {
		tok = &token
	}
	e.FillIdentities()
	var exit *int64
	if e.ExitCode != nil {
		v := int64(*e.ExitCode)
		exit = &v
	}
	return []any{e.RunID, tok, epoch, e.Time, clean(string(e.Kind)), clean(string(e.Action)),
		clean(e.Stage), int64(e.Batch), clean(e.Host), clean(e.Step), exit, int64(e.Duration),
		store.TailOutput(clean(e.Output)), clean(e.Message), clean(e.Actor),
		string(e.ActorVia), clean(e.ActorOSUser), clean(e.ActorToken)}
}

// appendInTx appends e inside tx and announces it.
func appendInTx(ctx context.Context, tx pgx.Tx, e store.Event, token string, epoch int64) (int64, error) {
	var seq int64
	err := tx.QueryRow(ctx, appendSQL, appendArgs(e, token, epoch)...).Scan(&seq)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, fenceOrNotFound(ctx, tx, e.RunID, epoch)
	}
	if err != nil {
		return 0, fmt.Errorf("run %s: append event: %w", e.RunID, err)
	}
	if _, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, notifyChannel, e.RunID); err != nil {
		return 0, fmt.Errorf("run %s: notify: %w", e.RunID, err)
	}
	return seq, nil
}

// fenceOrNotFound explains why appendSQL stored nothing.
func fenceOrNotFound(ctx context.Context, q querier, id string, epoch int64) error {
	if err := checkFence(ctx, q, id, epoch); err != nil {
		return err
	}
	if err := runExists(ctx, q, id); err != nil {
		return err
	}
	return fmt.Errorf("run %s: append event: nothing stored", id)
}

// Events implements store.Journal.
func (s *Store) Events(ctx context.Context, runID string, afterSeq int64) ([]store.Event, error) {
	var events []store.Event
	err := s.read(ctx, func() error {
		var err error
		events, err = queryAll(ctx, s.pool, scanEvent, `SELECT `+eventColumns+`
			FROM events WHERE run_id = $1 AND seq > $2 ORDER BY seq`, runID, afterSeq)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("run %s: events: %w", runID, err)
	}
	if len(events) == 0 {
		if err := s.read(ctx, func() error { return runExists(ctx, s.pool, runID) }); err != nil {
			return nil, err
		}
	}
	return events, nil
}
