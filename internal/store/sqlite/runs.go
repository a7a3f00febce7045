package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	sqlite3 "modernc.org/sqlite/lib"

	"github.com/golive-dev/golive/internal/store"
)

const runColumns = `id, plan, env, release, previous_release, requester, ticket, plan_hash,
	state, reason, created_us, updated_us, started_us, finished_us,
	requester_via, requester_os_user, requester_token, artifacts`

type scanner interface{ Scan(dest ...any) error }

func scanRun(sc scanner) (store.Run, error) {
	var r store.Run
	var created, updated int64
	var started, finished sql.NullInt64
	var arts sql.NullString
	err := sc.Scan(&r.ID, &r.Plan, &r.Env, &r.Release, &r.PreviousRelease, &r.Requester,
		&r.Ticket, &r.PlanHash, &r.State, &r.Reason, &created, &updated, &started, &finished,
		&r.RequesterVia, &r.RequesterOSUser, &r.RequesterToken, &arts)
	if err != nil {
		return r, err
	}
	r.CreatedAt, r.UpdatedAt = fromMicros(created), fromMicros(updated)
	r.StartedAt, r.FinishedAt = fromNullMicros(started), fromNullMicros(finished)
	r.Artifacts = decodeSums(arts)
	return r, nil
}

// CreateRun implements store.RunStore.
func (s *Store) CreateRun(ctx context.Context, r store.Run) (store.Run, error) {
	if err := r.Validate(); err != nil {
		return store.Run{}, err
	}
	if r.State == "" {
		r.State = store.StatePending
	}
	r.FillIdentities()
	now := s.clock()
	r.CreatedAt, r.UpdatedAt = now, now
	r.StartedAt, r.FinishedAt = time.Time{}, time.Time{}
	if r.State == store.StateRunning {
		r.StartedAt = now
	}
	if r.State.Terminal() {
		r.FinishedAt = now
	}
	assignID := r.ID == ""
	for attempt := 0; ; attempt++ {
		if assignID {
			r.ID = store.NewRunID(now)
		}
		err := s.write(ctx, func(tx *sql.Tx) error { return s.insertRun(ctx, tx, r) })
		if err == nil {
			return r, nil
		}
		if !isConstraint(err, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY) {
			return store.Run{}, fmt.Errorf("run %s: create: %w", r.ID, err)
		}
		if !assignID || attempt == 10 {
			return store.Run{}, fmt.Errorf("run %s: %w", r.ID, store.ErrExists)
		}
	}
}

func (s *Store) insertRun(ctx context.Context, tx *sql.Tx, r store.Run) error {
	arts := encodeSums(r.Artifacts)
	_, err := tx.ExecContext(ctx, `INSERT INTO runs (`+runColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.ID, r.Plan, r.Env, r.Release, r.PreviousRelease, r.Requester, r.Ticket, r.PlanHash,
		r.State, r.Reason, micros(r.CreatedAt), micros(r.UpdatedAt),
		nullMicros(r.StartedAt), nullMicros(r.FinishedAt),
		r.RequesterVia, r.RequesterOSUser, r.RequesterToken, arts)
	if err != nil {
		return err
	}
	_, err = s.appendEvent(ctx, tx, store.Event{
		RunID: r.ID, Time: r.CreatedAt, Kind: store.KindState,
		Action: store.Action(r.State), Message: r.Reason, Actor: r.Requester,
		ActorVia: r.RequesterVia, ActorOSUser: r.RequesterOSUser, ActorToken: r.RequesterToken,
	})
	return err
}

// GetRun implements store.RunStore.
// Its statement is prepared once: parsing it cost a server more than the
// read, asked on every request.
func (s *Store) GetRun(ctx context.Context, id string) (store.Run, error) {
	if s.getRunStmt == nil { // opened read-only: nothing prepared
		return getRun(ctx, s.db, id)
	}
	return runByID(s.getRunStmt.QueryRowContext(ctx, id), id)
}

// getRunSQL selects a run by id.
var getRunSQL = `SELECT ` + runColumns + ` FROM runs WHERE id = ?`

func getRun(ctx context.Context, q querier, id string) (store.Run, error) {
	return runByID(q.QueryRowContext(ctx, getRunSQL, id), id)
}

// runByID scans the run row found for id.
func runByID(row *sql.Row, id string) (store.Run, error) {
	r, err := scanRun(row)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Run{}, fmt.Errorf("run %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return store.Run{}, fmt.Errorf("run %s: %w", id, err)
	}
	return r, nil
}

// LatestRun implements store.RunStore.
func (s *Store) LatestRun(ctx context.Context, plan, env string) (store.Run, error) {
	return store.LatestOf(ctx, s, plan, env)
}

// ListRuns implements store.RunStore. An empty Env in f matches every
// environment.
func (s *Store) ListRuns(ctx context.Context, f store.RunFilter) ([]store.Run, error) {
	var where []string
	var args []any
	if f.Plan != "" {
		where, args = append(where, "plan = ?"), append(args, f.Plan)
	}
	if f.Env != "" {
		where, args = append(where, "env = ?"), append(args, f.Env)
	}
	if len(f.States) > 0 {
		where = append(where, "state IN ("+placeholders(len(f.States))+")")
		for _, st := range f.States {
			args = append(args, st)
		}
	}
	q := `SELECT ` + runColumns + ` FROM runs`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY created_us DESC, id DESC"
	if f.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	defer rows.Close()
	var runs []store.Run
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, fmt.Errorf("list runs: %w", err)
		}
		runs = append(runs, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	return runs, nil
}

func placeholders(n int) string { return strings.TrimSuffix(strings.Repeat("?, ", n), ", ") }

// UpdateRunState implements store.RunStore.
func (s *Store) UpdateRunState(ctx context.Context, id string, from []store.State, to store.State, reason string) (store.Run, error) {
	if err := store.CheckTransition(from, to); err != nil {
		return store.Run{}, fmt.Errorf("run %s: %w", id, err)
	}
	var r store.Run
	err := s.write(ctx, func(tx *sql.Tx) error {
		var err error
		if r, err = getRun(ctx, tx, id); err != nil {
			return err
		}
		if err := checkFence(ctx, tx, id, store.FenceEpoch(ctx, id)); err != nil {
			return err
		}
		if !slices.Contains(from, r.State) {
			return &store.StateConflictError{RunID: id, Current: r.State, From: slices.Clone(from), To: to}
		}
		now := s.clock()
		r.State, r.Reason, r.UpdatedAt = to, reason, now
		if to == store.StateRunning && r.StartedAt.IsZero() {
			r.StartedAt = now
		}
		r.FinishedAt = time.Time{}
		if to.Terminal() {
			r.FinishedAt = now
		}
		_, err = tx.ExecContext(ctx, `UPDATE runs SET state = ?, reason = ?, updated_us = ?,
			started_us = ?, finished_us = ? WHERE id = ?`,
			r.State, r.Reason, micros(now), nullMicros(r.StartedAt), nullMicros(r.FinishedAt), id)
		if err != nil {
			return fmt.Errorf("run %s: update state: %w", id, err)
		}
		_, err = s.appendEvent(ctx, tx, store.Event{
			RunID: id, Time: now, Kind: store.KindState, Action: store.Action(to), Message: reason,
		})
		return err
	})
	if err != nil {
		return store.Run{}, err
	}
	return r, nil
}

// encodeSums stores artifact sums; unbound ("") stays NULL.
func encodeSums(s store.ArtifactSums) sql.NullString {
	return sql.NullString{String: string(s), Valid: s != ""}
}

func decodeSums(s sql.NullString) store.ArtifactSums {
	if !s.Valid {
		return ""
	}
	return store.ArtifactSums(s.String)
}
