package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/golive-dev/golive/internal/store"
)

var _ store.Dumper = (*Store)(nil)

const (
	eventColumns = `run_id, seq, time, kind, action, stage, batch,
		host, step, exit_code, duration_ns, output, message, actor, actor_via, actor_os_user, actor_token`
	approvalColumns = `id, run_id, gate, approver, decision, comment,
		plan_hash, release, env, time, via, os_user, token, artifacts`
)

func scanEvent(row pgx.Row) (store.Event, error) {
	var e store.Event
	var batch, dur int64
	var exit *int64
	err := row.Scan(&e.RunID, &e.Seq, &e.Time, &e.Kind, &e.Action, &e.Stage, &batch,
		&e.Host, &e.Step, &exit, &dur, &e.Output, &e.Message, &e.Actor,
		&e.ActorVia, &e.ActorOSUser, &e.ActorToken)
	e.Time, e.Batch, e.Duration = utc(e.Time), int(batch), time.Duration(dur)
	if exit != nil {
		e.ExitCode = store.ExitCode(int(*exit))
	}
	return e, err
}

func scanApproval(row pgx.Row) (store.Approval, error) {
	var a store.Approval
	var arts *string
	err := row.Scan(&a.ID, &a.RunID, &a.Gate, &a.Approver, &a.Decision, &a.Comment,
		&a.PlanHash, &a.Release, &a.Env, &a.Time, &a.Via, &a.OSUser, &a.Token, &arts)
	if arts != nil {
		a.Artifacts = store.ArtifactSums(*arts)
	}
	a.Time = utc(a.Time)
	return a, err
}

// queryAll runs query in q and scans every row with scan.
func queryAll[T any](ctx context.Context, q querier, scan func(pgx.Row) (T, error), query string, args ...any) ([]T, error) {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	list := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		list = append(list, v)
	}
	return list, rows.Err()
}

// KeepText implements store.Dumper: NUL bytes and invalid UTF-8 become
// U+FFFD.
func (s *Store) KeepText(v string) string { return clean(v) }

// Export implements store.Dumper, in one repeatable-read, read-only
// transaction (a snapshot; writers do not wait for it).
func (s *Store) Export(ctx context.Context, fn func(store.RunRecord) error) (store.Tables, error) {
	var t store.Tables
	// Not retried: fn must see each run once.
	opts := pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}
	err := pgx.BeginTxFunc(ctx, s.pool, opts, func(tx pgx.Tx) error { return export(ctx, tx, fn, &t) })
	if err != nil {
		return store.Tables{}, fmt.Errorf("export %s: %w", s.Path(), err)
	}
	return t, nil
}

func export(ctx context.Context, tx pgx.Tx, fn func(store.RunRecord) error, t *store.Tables) error {
	recs, err := queryAll(ctx, tx, scanRunRecord, `SELECT `+runColumns+`, last_seq, lease_holder, lease_epoch,
		lease_expires FROM runs ORDER BY created_at, id`)
	if err != nil {
		return fmt.Errorf("runs: %w", err)
	}
	for _, rec := range recs {
		if rec.Events, err = queryAll(ctx, tx, scanEvent, `SELECT `+eventColumns+`
			FROM events WHERE run_id = $1 ORDER BY seq`, rec.Run.ID); err != nil {
			return fmt.Errorf("run %s: events: %w", rec.Run.ID, err)
		}
		if rec.Approvals, err = queryAll(ctx, tx, scanApproval, `SELECT `+approvalColumns+`
			FROM approvals WHERE run_id = $1 ORDER BY id`, rec.Run.ID); err != nil {
			return fmt.Errorf("run %s: approvals: %w", rec.Run.ID, err)
		}
		if err := fn(rec); err != nil {
			return err
		}
	}
	if t.Live, err = queryAll(ctx, tx, scanLive, `SELECT plan, env, host, release, run_id, since
		FROM live ORDER BY plan, env, host`); err != nil {
		return fmt.Errorf("live: %w", err)
	}
	if t.Locks, err = queryAll(ctx, tx, scanLock, `SELECT `+lockColumns+` FROM locks ORDER BY plan, env`); err != nil {
		return fmt.Errorf("locks: %w", err)
	}
	if t.Orphans, err = queryAll(ctx, tx, scanOrphan, orphansSQL); err != nil {
		return fmt.Errorf("orphans: %w", err)
	}
	return exportServer(ctx, tx, t)
}

// orphansSQL finds the records that name a run the store does not have
// (possible only when they were written with the references off, e.g.
// session_replication_role = replica).
const orphansSQL = `
SELECT 'events', run_id, 'seq ' || seq FROM events WHERE run_id NOT IN (SELECT id FROM runs)
UNION ALL SELECT 'approvals', run_id, 'approval ' || id FROM approvals WHERE run_id NOT IN (SELECT id FROM runs)
UNION ALL SELECT 'live', run_id, 'host ' || host || ' of ' || plan || '/' || env FROM live WHERE run_id NOT IN (SELECT id FROM runs)
UNION ALL SELECT 'locks', run_id, 'lock ' || plan || '/' || env FROM locks WHERE run_id NOT IN (SELECT id FROM runs)
ORDER BY 1, 2`

func scanOrphan(row pgx.Row) (store.Orphan, error) {
	var o store.Orphan
	err := row.Scan(&o.Table, &o.RunID, &o.What)
	return o, err
}

func scanLive(row pgx.Row) (store.LiveRelease, error) {
	var l store.LiveRelease
	err := row.Scan(&l.Plan, &l.Env, &l.Host, &l.Release, &l.RunID, &l.Since)
	l.Since = utc(l.Since)
	return l, err
}

func scanRunRecord(row pgx.Row) (store.RunRecord, error) {
	var rec store.RunRecord
	r := &rec.Run
	var started, finished, expires *time.Time
	var arts *string
	err := row.Scan(&r.ID, &r.Plan, &r.Env, &r.Release, &r.PreviousRelease, &r.Requester,
		&r.Ticket, &r.PlanHash, &r.State, &r.Reason, &r.CreatedAt, &r.UpdatedAt, &started, &finished,
		&r.RequesterVia, &r.RequesterOSUser, &r.RequesterToken, &arts,
		&rec.LastSeq, &rec.Lease.Holder, &rec.Lease.Epoch, &expires)
	r.CreatedAt, r.UpdatedAt = utc(r.CreatedAt), utc(r.UpdatedAt)
	r.StartedAt, r.FinishedAt = fromNull(started), fromNull(finished)
	if arts != nil {
		r.Artifacts = store.ArtifactSums(*arts)
	}
	rec.Lease.RunID = r.ID
	if rec.Lease.Epoch > 0 { // as in the SQLite store: a run never leased has no expiry
		rec.Lease.Expires = fromNull(expires)
	}
	return rec, err
}

// Import implements store.Dumper, in one transaction (not retried: a lost
// connection fails it, and nothing is stored).
func (s *Store) Import(ctx context.Context, fill func(store.Importer) error) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := fill(&importer{ctx: ctx, tx: tx}); err != nil {
			return err
		}
		// Approvals and audit entries added later take ids after the
		// imported ones. The sequence never goes back: another server may
		// have taken an id that its uncommitted insert holds (setval is
		// not transactional, and MAX does not see that row).
		for _, table := range []string{"approvals", "audit"} {
			if _, err := tx.Exec(ctx, `SELECT setval(q.seq, GREATEST(q.max_id, COALESCE(pg_sequence_last_value(q.seq), 0), 1),
				q.max_id > 0 OR pg_sequence_last_value(q.seq) IS NOT NULL)
				FROM (SELECT pg_get_serial_sequence('`+table+`', 'id')::regclass AS seq,
					COALESCE((SELECT MAX(id) FROM `+table+`), 0) AS max_id) AS q`); err != nil {
				return fmt.Errorf("%s: id sequence: %w", table, err)
			}
		}
		return nil
	})
}

type importer struct {
	ctx context.Context
	tx  pgx.Tx
}

func (im *importer) PutRun(rec store.RunRecord, newApprovalIDs bool) error {
	ctx, r := im.ctx, rec.Run
	var expires *time.Time
	if rec.Lease.Epoch > 0 {
		expires = &rec.Lease.Expires
	}
	_, err := im.tx.Exec(ctx, `INSERT INTO runs (`+runColumns+`, last_seq, lease_holder, lease_epoch, lease_expires)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22)`,
		clean(r.ID), clean(r.Plan), clean(r.Env), clean(r.Release), clean(r.PreviousRelease), clean(r.Requester),
		clean(r.Ticket), clean(r.PlanHash), clean(string(r.State)), clean(r.Reason), r.CreatedAt, r.UpdatedAt,
		nullTime(r.StartedAt), nullTime(r.FinishedAt),
		clean(string(r.RequesterVia)), clean(r.RequesterOSUser), clean(r.RequesterToken), nullSums(store.ArtifactSums(clean(string(r.Artifacts)))),
		rec.LastSeq, clean(rec.Lease.Holder), rec.Lease.Epoch, expires)
	if isUnique(err) {
		return fmt.Errorf("run %s: %w", r.ID, store.ErrExists)
	}
	if err != nil {
		return fmt.Errorf("run %s: %w", r.ID, err)
	}
	rows := make([][]any, len(rec.Events))
	for i, e := range rec.Events {
		var exit *int64
		if e.ExitCode != nil {
			v := int64(*e.ExitCode)
			exit = &v
		}
		rows[i] = []any{clean(r.ID), e.Seq, e.Time, clean(string(e.Kind)), clean(string(e.Action)), clean(e.Stage),
			int64(e.Batch), clean(e.Host), clean(e.Step), exit, int64(e.Duration), clean(e.Output), clean(e.Message),
			clean(e.Actor), clean(string(e.ActorVia)), clean(e.ActorOSUser), clean(e.ActorToken)}
	}
	cols := []string{"run_id", "seq", "time", "kind", "action", "stage", "batch", "host", "step",
		"exit_code", "duration_ns", "output", "message", "actor", "actor_via", "actor_os_user", "actor_token"}
	if _, err := im.tx.CopyFrom(ctx, pgx.Identifier{"events"}, cols, pgx.CopyFromRows(rows)); err != nil {
		return fmt.Errorf("run %s: events: %w", r.ID, err)
	}
	for _, a := range rec.Approvals {
		var id *int64
		if !newApprovalIDs {
			id = &a.ID
		}
		_, err := im.tx.Exec(ctx, `INSERT INTO approvals (id, run_id, gate, approver, decision,
			comment, plan_hash, release, env, time, via, os_user, token, artifacts)
			VALUES (COALESCE($1, nextval(pg_get_serial_sequence('approvals', 'id'))),
			$2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`, id, clean(r.ID), clean(a.Gate),
			clean(a.Approver), clean(string(a.Decision)), clean(a.Comment), clean(a.PlanHash), clean(a.Release),
			clean(a.Env), a.Time, clean(string(a.Via)), clean(a.OSUser), clean(a.Token),
			nullSums(store.ArtifactSums(clean(string(a.Artifacts)))))
		if err != nil {
			return fmt.Errorf("run %s: approval %d: %w", r.ID, a.ID, err)
		}
	}
	return nil
}

func (im *importer) PutLive(l store.LiveRelease) error {
	_, err := im.tx.Exec(im.ctx, setLiveSQL, clean(l.Plan), clean(l.Env), clean(l.Host), clean(l.Release),
		clean(l.RunID), l.Since)
	if err != nil {
		return fmt.Errorf("live %s/%s %s: %w", l.Plan, l.Env, l.Host, err)
	}
	return nil
}

func (im *importer) PutLock(l store.Lock) error {
	_, err := im.tx.Exec(im.ctx, `INSERT INTO locks (`+lockColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		clean(l.Plan), clean(l.Env), clean(l.RunID), int64(l.Holder.PID), clean(l.Holder.Hostname),
		clean(l.Requester), l.AcquiredAt, l.HeartbeatAt, clean(l.Holder.PIDSpace))
	if isUnique(err) {
		return fmt.Errorf("%s: %w", lockName(l.Plan, l.Env), store.ErrExists)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", lockName(l.Plan, l.Env), err)
	}
	return nil
}
