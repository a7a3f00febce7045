package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/golive-dev/golive/internal/store"
)

const runColumns = `id, plan, env, release, previous_release, requester, ticket, plan_hash,
	state, reason, created_at, updated_at, started_at, finished_at,
	requester_via, requester_os_user, requester_token, artifacts`

func scanRun(row pgx.Row) (store.Run, error) {
	var r store.Run
	var started, finished *time.Time
	var arts *string
	err := row.Scan(&r.ID, &r.Plan, &r.Env, &r.Release, &r.PreviousRelease, &r.Requester,
		&r.Ticket, &r.PlanHash, &r.State, &r.Reason, &r.CreatedAt, &r.UpdatedAt, &started, &finished,
		&r.RequesterVia, &r.RequesterOSUser, &r.RequesterToken, &arts)
	if err != nil {
		return r, err
	}
	r.CreatedAt, r.UpdatedAt = utc(r.CreatedAt), utc(r.UpdatedAt)
	r.StartedAt, r.FinishedAt = fromNull(started), fromNull(finished)
	if arts != nil {
		r.Artifacts = store.ArtifactSums(*arts)
	}
	return r, nil
}

func nullSums(s store.ArtifactSums) *string {
	if s == "" {
		return nil
	}
	v := string(s)
	return &v
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
	r.Reason = clean(r.Reason)
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
		err := s.write(ctx, func(tx pgx.Tx, retry int) error {
			err := s.insertRun(ctx, tx, r)
			if isUnique(err) && retry > 0 {
				// An earlier attempt's commit may have succeeded unseen:
				// the run in the database is this one if it matches.
				return errSameRun
			}
			return err
		})
		if err == nil || errors.Is(err, errSameRun) && s.isOurRun(ctx, r) {
			return r, nil
		}
		if !isUnique(err) && !errors.Is(err, errSameRun) {
			return store.Run{}, fmt.Errorf("run %s: create: %w", r.ID, err)
		}
		if !assignID || attempt == 10 {
			return store.Run{}, fmt.Errorf("run %s: %w", r.ID, store.ErrExists)
		}
	}
}

var errSameRun = errors.New("run id taken, maybe by this very create")

// isOurRun reports whether the stored run r.ID is r (created by an attempt
// whose answer was lost).
func (s *Store) isOurRun(ctx context.Context, r store.Run) bool {
	got, err := s.GetRun(ctx, r.ID)
	return err == nil && got.CreatedAt.Equal(r.CreatedAt) && got.Plan == r.Plan && got.Release == r.Release
}

func (s *Store) insertRun(ctx context.Context, tx pgx.Tx, r store.Run) error {
	_, err := tx.Exec(ctx, `INSERT INTO runs (`+runColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)`,
		r.ID, clean(r.Plan), clean(r.Env), clean(r.Release), clean(r.PreviousRelease), clean(r.Requester),
		clean(r.Ticket), r.PlanHash, string(r.State), r.Reason, r.CreatedAt, r.UpdatedAt,
		nullTime(r.StartedAt), nullTime(r.FinishedAt),
		string(r.RequesterVia), clean(r.RequesterOSUser), clean(r.RequesterToken), nullSums(r.Artifacts))
	if err != nil {
		return err
	}
	_, err = appendInTx(ctx, tx, store.Event{
		RunID: r.ID, Time: r.CreatedAt, Kind: store.KindState,
		Action: store.Action(r.State), Message: r.Reason, Actor: r.Requester,
		ActorVia: r.RequesterVia, ActorOSUser: r.RequesterOSUser, ActorToken: r.RequesterToken,
	}, "", 0)
	return err
}

// GetRun implements store.RunStore.
func (s *Store) GetRun(ctx context.Context, id string) (store.Run, error) {
	var r store.Run
	err := s.read(ctx, func() error {
		var err error
		r, err = getRun(ctx, s.pool, id, false)
		return err
	})
	return r, err
}

func getRun(ctx context.Context, q querier, id string, forUpdate bool) (store.Run, error) {
	sql := `SELECT ` + runColumns + ` FROM runs WHERE id = $1`
	if forUpdate {
		sql += ` FOR UPDATE`
	}
	r, err := scanRun(q.QueryRow(ctx, sql, id))
	if errors.Is(err, pgx.ErrNoRows) {
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
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	if f.Plan != "" {
		where = append(where, "plan = "+arg(f.Plan))
	}
	if f.Env != "" {
		where = append(where, "env = "+arg(f.Env))
	}
	if len(f.States) > 0 {
		states := make([]string, len(f.States))
		for i, st := range f.States {
			states[i] = string(st)
		}
		where = append(where, "state = ANY("+arg(states)+")")
	}
	q := `SELECT ` + runColumns + ` FROM runs`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY created_at DESC, id DESC"
	if f.Limit > 0 {
		q += " LIMIT " + arg(f.Limit)
	}
	var runs []store.Run
	err := s.read(ctx, func() error {
		runs = nil
		rows, err := s.pool.Query(ctx, q, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			r, err := scanRun(rows)
			if err != nil {
				return err
			}
			runs = append(runs, r)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	return runs, nil
}

// UpdateRunState implements store.RunStore.
func (s *Store) UpdateRunState(ctx context.Context, id string, from []store.State, to store.State, reason string) (store.Run, error) {
	if err := store.CheckTransition(from, to); err != nil {
		return store.Run{}, fmt.Errorf("run %s: %w", id, err)
	}
	reason = clean(reason)
	epoch := store.FenceEpoch(ctx, id)
	var r store.Run
	err := s.write(ctx, func(tx pgx.Tx, attempt int) error {
		var err error
		if r, err = getRun(ctx, tx, id, true); err != nil {
			return err
		}
		if err := checkFence(ctx, tx, id, epoch); err != nil {
			return err
		}
		if !slices.Contains(from, r.State) {
			if attempt > 0 && r.State == to && r.Reason == reason {
				return nil // an earlier attempt committed unseen
			}
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
		_, err = tx.Exec(ctx, `UPDATE runs SET state = $1, reason = $2, updated_at = $3,
			started_at = $4, finished_at = $5 WHERE id = $6`,
			string(r.State), r.Reason, now, nullTime(r.StartedAt), nullTime(r.FinishedAt), id)
		if err != nil {
			return fmt.Errorf("run %s: update state: %w", id, err)
		}
		_, err = appendInTx(ctx, tx, store.Event{
			RunID: id, Time: now, Kind: store.KindState, Action: store.Action(to), Message: reason,
		}, "", 0)
		return err
	})
	if err != nil {
		return store.Run{}, err
	}
	return r, nil
}
