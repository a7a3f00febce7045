package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/golive-dev/golive/internal/store"
)

const lockColumns = `plan, env, run_id, holder_pid, holder_host, requester, acquired_at, heartbeat_at, holder_space`

func scanLock(row pgx.Row) (store.Lock, error) {
	var l store.Lock
	var pid int64
	err := row.Scan(&l.Plan, &l.Env, &l.RunID, &pid, &l.Holder.Hostname, &l.Requester,
		&l.AcquiredAt, &l.HeartbeatAt, &l.Holder.PIDSpace)
	l.Holder.PID = int(pid)
	l.AcquiredAt, l.HeartbeatAt = utc(l.AcquiredAt), utc(l.HeartbeatAt)
	return l, err
}

func lockName(plan, env string) string { return "lock " + plan + "/" + env }

// lockKey serialises the transactions on the lock of (plan, env) with a
// transaction advisory lock, so that two controllers racing for a free
// lock cannot both insert it.
func lockKey(ctx context.Context, tx pgx.Tx, plan, env string) error {
	_, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 7))`, plan+"\x1f"+env)
	return err
}

func getLock(ctx context.Context, q querier, plan, env string) (store.Lock, error) {
	l, err := scanLock(q.QueryRow(ctx, `SELECT `+lockColumns+` FROM locks WHERE plan = $1 AND env = $2`, plan, env))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Lock{}, fmt.Errorf("%s: %w", lockName(plan, env), store.ErrNotFound)
	}
	if err != nil {
		return store.Lock{}, fmt.Errorf("%s: %w", lockName(plan, env), err)
	}
	return l, nil
}

// GetLock implements store.LockStore.
func (s *Store) GetLock(ctx context.Context, plan, env string) (store.Lock, error) {
	var l store.Lock
	err := s.read(ctx, func() error {
		var err error
		l, err = getLock(ctx, s.pool, plan, env)
		return err
	})
	return l, err
}

// ListLocks implements store.LockStore.
func (s *Store) ListLocks(ctx context.Context) ([]store.Lock, error) {
	var locks []store.Lock
	err := s.read(ctx, func() error {
		locks = []store.Lock{}
		rows, err := s.pool.Query(ctx, `SELECT `+lockColumns+` FROM locks ORDER BY plan, env`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			l, err := scanLock(rows)
			if err != nil {
				return err
			}
			locks = append(locks, l)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("list locks: %w", err)
	}
	return locks, nil
}

// AcquireLock implements store.LockStore.
func (s *Store) AcquireLock(ctx context.Context, l store.Lock) (store.Lock, error) {
	if err := l.Validate(); err != nil {
		return store.Lock{}, err
	}
	l.Holder.Hostname, l.Requester = clean(l.Holder.Hostname), clean(l.Requester)
	var out store.Lock
	err := s.write(ctx, func(tx pgx.Tx, _ int) error {
		if err := lockKey(ctx, tx, l.Plan, l.Env); err != nil {
			return err
		}
		cur, err := getLock(ctx, tx, l.Plan, l.Env)
		switch {
		case err == nil && cur.SameHolder(l):
			out = cur
			return heartbeat(ctx, tx, &out, s.clock())
		case err == nil:
			return &store.LockedError{Lock: cur}
		case !errors.Is(err, store.ErrNotFound):
			return err
		}
		if err := runExists(ctx, tx, l.RunID); err != nil {
			return fmt.Errorf("%s: %w", lockName(l.Plan, l.Env), err)
		}
		out = l
		return insertLock(ctx, tx, &out, s.clock())
	})
	if err != nil {
		return store.Lock{}, err
	}
	return out, nil
}

func insertLock(ctx context.Context, tx pgx.Tx, l *store.Lock, now time.Time) error {
	_, err := tx.Exec(ctx, `INSERT INTO locks (`+lockColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		l.Plan, l.Env, l.RunID, int64(l.Holder.PID), l.Holder.Hostname, l.Requester, now, now, l.Holder.PIDSpace)
	if err != nil {
		return fmt.Errorf("%s: %w", lockName(l.Plan, l.Env), err)
	}
	l.AcquiredAt, l.HeartbeatAt = now, now
	return nil
}

func heartbeat(ctx context.Context, tx pgx.Tx, l *store.Lock, now time.Time) error {
	tag, err := tx.Exec(ctx, `UPDATE locks SET heartbeat_at = $1
		WHERE plan = $2 AND env = $3 AND run_id = $4 AND holder_pid = $5 AND holder_host = $6 AND holder_space = $7`,
		now, l.Plan, l.Env, l.RunID, int64(l.Holder.PID), l.Holder.Hostname, l.Holder.PIDSpace)
	if err != nil {
		return fmt.Errorf("%s: heartbeat: %w", lockName(l.Plan, l.Env), err)
	}
	if tag.RowsAffected() != 1 {
		return fmt.Errorf("%s: heartbeat: lock changed (%d rows)", lockName(l.Plan, l.Env), tag.RowsAffected())
	}
	l.HeartbeatAt = now
	return nil
}

// Heartbeat implements store.LockStore.
func (s *Store) Heartbeat(ctx context.Context, l store.Lock) error {
	return s.write(ctx, func(tx pgx.Tx, _ int) error {
		if err := lockKey(ctx, tx, l.Plan, l.Env); err != nil {
			return err
		}
		cur, err := getLock(ctx, tx, l.Plan, l.Env)
		if err != nil {
			return err
		}
		if !cur.SameHolder(l) {
			return &store.LockedError{Lock: cur}
		}
		return heartbeat(ctx, tx, &cur, s.clock())
	})
}

// ReleaseLock implements store.LockStore.
func (s *Store) ReleaseLock(ctx context.Context, plan, env, runID string) error {
	return s.write(ctx, func(tx pgx.Tx, attempt int) error {
		if err := lockKey(ctx, tx, plan, env); err != nil {
			return err
		}
		cur, err := getLock(ctx, tx, plan, env)
		if errors.Is(err, store.ErrNotFound) && attempt > 0 {
			return nil // released by an earlier attempt whose answer was lost
		}
		if err != nil {
			return err
		}
		if cur.RunID != runID {
			return &store.LockedError{Lock: cur}
		}
		_, err = tx.Exec(ctx, `DELETE FROM locks WHERE plan = $1 AND env = $2 AND run_id = $3`, plan, env, runID)
		return err
	})
}

// StealLock implements store.LockStore.
func (s *Store) StealLock(ctx context.Context, expected, next store.Lock) (store.Lock, error) {
	if err := next.Validate(); err != nil {
		return store.Lock{}, err
	}
	if expected.Plan != next.Plan || expected.Env != next.Env {
		return store.Lock{}, fmt.Errorf("%s: steal for %s/%s: %w",
			lockName(expected.Plan, expected.Env), next.Plan, next.Env, store.ErrInvalid)
	}
	next.Holder.Hostname, next.Requester = clean(next.Holder.Hostname), clean(next.Requester)
	var out store.Lock
	err := s.write(ctx, func(tx pgx.Tx, attempt int) error {
		if err := lockKey(ctx, tx, expected.Plan, expected.Env); err != nil {
			return err
		}
		cur, err := getLock(ctx, tx, expected.Plan, expected.Env)
		if err != nil {
			return err
		}
		if attempt > 0 && cur.SameHolder(next) {
			out = cur // stolen by an earlier attempt whose answer was lost
			return nil
		}
		if !cur.SameHolder(expected) {
			return &store.LockedError{Lock: cur}
		}
		if err := runExists(ctx, tx, next.RunID); err != nil {
			return fmt.Errorf("%s: %w", lockName(next.Plan, next.Env), err)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM locks WHERE plan = $1 AND env = $2`, cur.Plan, cur.Env); err != nil {
			return fmt.Errorf("%s: steal: %w", lockName(cur.Plan, cur.Env), err)
		}
		out = next
		return insertLock(ctx, tx, &out, s.clock())
	})
	if err != nil {
		return store.Lock{}, err
	}
	return out, nil
}
