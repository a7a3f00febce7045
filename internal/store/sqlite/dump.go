package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	sqlite3 "modernc.org/sqlite/lib"

	"github.com/golive-dev/golive/internal/store"
)

var _ store.Dumper = (*Store)(nil)

const (
	eventColumns = `run_id, seq, time_us, kind, action, stage, batch,
		host, step, exit_code, duration_ns, output, message, actor, actor_via, actor_os_user, actor_token`
	approvalColumns = `id, run_id, gate, approver, decision, comment,
		plan_hash, release, env, time_us, via, os_user, token, artifacts`
)

func scanEvent(sc scanner) (store.Event, error) {
	var e store.Event
	var t, dur int64
	var exit sql.NullInt64
	err := sc.Scan(&e.RunID, &e.Seq, &t, &e.Kind, &e.Action, &e.Stage, &e.Batch,
		&e.Host, &e.Step, &exit, &dur, &e.Output, &e.Message, &e.Actor,
		&e.ActorVia, &e.ActorOSUser, &e.ActorToken)
	e.Time, e.Duration = fromMicros(t), time.Duration(dur)
	if exit.Valid {
		e.ExitCode = store.ExitCode(int(exit.Int64))
	}
	return e, err
}

func scanApproval(sc scanner) (store.Approval, error) {
	var a store.Approval
	var t int64
	var arts sql.NullString
	err := sc.Scan(&a.ID, &a.RunID, &a.Gate, &a.Approver, &a.Decision, &a.Comment,
		&a.PlanHash, &a.Release, &a.Env, &t, &a.Via, &a.OSUser, &a.Token, &arts)
	a.Artifacts = decodeSums(arts)
	a.Time = fromMicros(t)
	return a, err
}

// queryAll runs query in q and scans every row with scan.
func queryAll[T any](ctx context.Context, q querier, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
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

// KeepText implements store.Dumper: SQLite keeps any string.
func (s *Store) KeepText(v string) string { return v }

// Export implements store.Dumper, in one read transaction (a snapshot of
// the WAL database that writers do not wait for).
func (s *Store) Export(ctx context.Context, fn func(store.RunRecord) error) (store.Tables, error) {
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return store.Tables{}, fmt.Errorf("export: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	recs, err := queryAll(ctx, tx, scanRunRecord, `SELECT `+runColumns+`, last_seq, lease_holder, lease_epoch,
		lease_expires_us FROM runs ORDER BY created_us, id`)
	if err != nil {
		return store.Tables{}, fmt.Errorf("export: runs: %w", err)
	}
	for _, rec := range recs {
		if rec.Events, err = queryAll(ctx, tx, scanEvent, `SELECT `+eventColumns+`
			FROM events WHERE run_id = ? ORDER BY seq`, rec.Run.ID); err != nil {
			return store.Tables{}, fmt.Errorf("export: run %s: events: %w", rec.Run.ID, err)
		}
		if rec.Approvals, err = queryAll(ctx, tx, scanApproval, `SELECT `+approvalColumns+`
			FROM approvals WHERE run_id = ? ORDER BY id`, rec.Run.ID); err != nil {
			return store.Tables{}, fmt.Errorf("export: run %s: approvals: %w", rec.Run.ID, err)
		}
		if err := fn(rec); err != nil {
			return store.Tables{}, err
		}
	}
	var t store.Tables
	if t.Live, err = queryAll(ctx, tx, scanLive, `SELECT plan, env, host, release, run_id, since_us
		FROM live ORDER BY plan, env, host`); err != nil {
		return t, fmt.Errorf("export: live: %w", err)
	}
	if t.Locks, err = queryAll(ctx, tx, scanLock, `SELECT `+lockColumns+` FROM locks ORDER BY plan, env`); err != nil {
		return t, fmt.Errorf("export: locks: %w", err)
	}
	if t.Orphans, err = queryAll(ctx, tx, scanOrphan, orphansSQL); err != nil {
		return t, fmt.Errorf("export: orphans: %w", err)
	}
	return t, exportServer(ctx, tx, &t)
}

// orphansSQL finds the records that name a run the store does not have
// (possible only when they were written with foreign keys off).
const orphansSQL = `
SELECT 'events', run_id, 'seq ' || seq FROM events WHERE run_id NOT IN (SELECT id FROM runs)
UNION ALL SELECT 'approvals', run_id, 'approval ' || id FROM approvals WHERE run_id NOT IN (SELECT id FROM runs)
UNION ALL SELECT 'live', run_id, 'host ' || host || ' of ' || plan || '/' || env FROM live WHERE run_id NOT IN (SELECT id FROM runs)
UNION ALL SELECT 'locks', run_id, 'lock ' || plan || '/' || env FROM locks WHERE run_id NOT IN (SELECT id FROM runs)
ORDER BY 1, 2`

func scanOrphan(sc scanner) (store.Orphan, error) {
	var o store.Orphan
	err := sc.Scan(&o.Table, &o.RunID, &o.What)
	return o, err
}

func scanLive(sc scanner) (store.LiveRelease, error) {
	var l store.LiveRelease
	var since int64
	err := sc.Scan(&l.Plan, &l.Env, &l.Host, &l.Release, &l.RunID, &since)
	l.Since = fromMicros(since)
	return l, err
}

func scanRunRecord(sc scanner) (store.RunRecord, error) {
	var rec store.RunRecord
	r := &rec.Run
	var created, updated, expires int64
	var started, finished sql.NullInt64
	var arts sql.NullString
	err := sc.Scan(&r.ID, &r.Plan, &r.Env, &r.Release, &r.PreviousRelease, &r.Requester,
		&r.Ticket, &r.PlanHash, &r.State, &r.Reason, &created, &updated, &started, &finished,
		&r.RequesterVia, &r.RequesterOSUser, &r.RequesterToken, &arts,
		&rec.LastSeq, &rec.Lease.Holder, &rec.Lease.Epoch, &expires)
	r.CreatedAt, r.UpdatedAt = fromMicros(created), fromMicros(updated)
	r.StartedAt, r.FinishedAt = fromNullMicros(started), fromNullMicros(finished)
	r.Artifacts = decodeSums(arts)
	rec.Lease.RunID = r.ID
	if rec.Lease.Epoch > 0 {
		rec.Lease.Expires = fromMicros(expires)
	}
	return rec, err
}

// Import implements store.Dumper, in one immediate transaction.
func (s *Store) Import(ctx context.Context, fill func(store.Importer) error) error {
	if s.readOnly {
		return fmt.Errorf("sqlite %s: opened read-only: cannot import", s.path)
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		return fill(&importer{ctx: ctx, tx: tx, insert: tx.StmtContext(ctx, s.insertStmt)})
	})
}

type importer struct {
	ctx    context.Context
	tx     *sql.Tx
	insert *sql.Stmt // insertEventSQL
}

func (im *importer) PutRun(rec store.RunRecord, newApprovalIDs bool) error {
	ctx, r := im.ctx, rec.Run
	var expires int64
	if rec.Lease.Epoch > 0 {
		expires = micros(rec.Lease.Expires)
	}
	_, err := im.tx.ExecContext(ctx, `INSERT INTO runs (`+runColumns+`, last_seq, lease_holder, lease_epoch, lease_expires_us)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.ID, r.Plan, r.Env, r.Release, r.PreviousRelease, r.Requester, r.Ticket, r.PlanHash,
		r.State, r.Reason, micros(r.CreatedAt), micros(r.UpdatedAt),
		nullMicros(r.StartedAt), nullMicros(r.FinishedAt),
		r.RequesterVia, r.RequesterOSUser, r.RequesterToken, encodeSums(r.Artifacts),
		rec.LastSeq, rec.Lease.Holder, rec.Lease.Epoch, expires)
	if err != nil {
		if isConstraint(err, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY) {
			return fmt.Errorf("run %s: %w", r.ID, store.ErrExists)
		}
		return fmt.Errorf("run %s: %w", r.ID, err)
	}
	for _, e := range rec.Events {
		var exit sql.NullInt64
		if e.ExitCode != nil {
			exit = sql.NullInt64{Int64: int64(*e.ExitCode), Valid: true}
		}
		_, err := im.insert.ExecContext(ctx, r.ID, e.Seq, micros(e.Time), e.Kind, e.Action, e.Stage,
			e.Batch, e.Host, e.Step, exit, int64(e.Duration), e.Output, e.Message, e.Actor,
			e.ActorVia, e.ActorOSUser, e.ActorToken)
		if err != nil {
			return fmt.Errorf("run %s: event %d: %w", r.ID, e.Seq, err)
		}
	}
	for _, a := range rec.Approvals {
		id := sql.NullInt64{Int64: a.ID, Valid: !newApprovalIDs}
		_, err := im.tx.ExecContext(ctx, `INSERT INTO approvals (id, run_id, gate, approver, decision,
			comment, plan_hash, release, env, time_us, via, os_user, token, artifacts)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, id, r.ID, a.Gate, a.Approver, a.Decision,
			a.Comment, a.PlanHash, a.Release, a.Env, micros(a.Time), a.Via, a.OSUser, a.Token, encodeSums(a.Artifacts))
		if err != nil {
			return fmt.Errorf("run %s: approval %d: %w", r.ID, a.ID, err)
		}
	}
	return nil
}

func (im *importer) PutLive(l store.LiveRelease) error {
	_, err := im.tx.ExecContext(im.ctx, `INSERT INTO live (plan, env, host, release, run_id, since_us)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (plan, env, host) DO UPDATE SET
		release = excluded.release, run_id = excluded.run_id, since_us = excluded.since_us`,
		l.Plan, l.Env, l.Host, l.Release, l.RunID, micros(l.Since))
	if err != nil {
		return fmt.Errorf("live %s/%s %s: %w", l.Plan, l.Env, l.Host, err)
	}
	return nil
}

func (im *importer) PutLock(l store.Lock) error {
	_, err := im.tx.ExecContext(im.ctx, `INSERT INTO locks (`+lockColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		l.Plan, l.Env, l.RunID, l.Holder.PID, l.Holder.Hostname, l.Requester,
		micros(l.AcquiredAt), micros(l.HeartbeatAt), l.Holder.PIDSpace)
	if isConstraint(err, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY) {
		return fmt.Errorf("%s: %w", lockName(l.Plan, l.Env), store.ErrExists)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", lockName(l.Plan, l.Env), err)
	}
	return nil
}
