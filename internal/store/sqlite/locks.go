package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/golive-dev/golive/internal/store"
)

const lockColumns = `plan, env, run_id, holder_pid, holder_host, requester, acquired_us, heartbeat_us, holder_space`

func scanLock(sc scanner) (store.Lock, error) {
	var l store.Lock
	var acquired, heartbeat int64
	err := sc.Scan(&l.Plan, &l.Env, &l.RunID, &l.Holder.PID, &l.Holder.Hostname, &l.Requester,
		&acquired, &heartbeat, &l.Holder.PIDSpace)
	l.AcquiredAt, l.HeartbeatAt = fromMicros(acquired), fromMicros(heartbeat)
	return l, err
}

func lockName(plan, env string) string { return "lock " + plan + "/" + env }

func getLock(ctx context.Context, q querier, plan, env string) (store.Lock, error) {
	l, err := scanLock(q.QueryRowContext(ctx,
		`SELECT `+lockColumns+` FROM locks WHERE plan = ? AND env = ?`, plan, env))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Lock{}, fmt.Errorf("%s: %w", lockName(plan, env), store.ErrNotFound)
	}
	if err != nil {
		return store.Lock{}, fmt.Errorf("%s: %w", lockName(plan, env), err)
	}
	return l, nil
}

// GetLock implements store.LockStore.
func (s *Store) GetLock(ctx context.Context, plan, env string) (store.Lock, error) {
	return getLock(ctx, s.db, plan, env)
}

// ListLocks implements store.LockStore.
func (s *Store) ListLocks(ctx context.Context) ([]store.Lock, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+lockColumns+` FROM locks ORDER BY plan, env`)
	if err != nil {
		return nil, fmt.Errorf("list locks: %w", err)
	}
	defer rows.Close()
	locks := []store.Lock{}
	for rows.Next() {
		l, err := scanLock(rows)
		if err != nil {
			return nil, fmt.Errorf("list locks: %w", err)
		}
		locks = append(locks, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list locks: %w", err)
	}
	return locks, nil
}

// AcquireLock implements store.LockStore.
func (s *Store) AcquireLock(ctx context.Context, l store.Lock) (store.Lock, error) {
	if err := l.Validate(); err != nil {
		return store.Lock{}, err
	}
	err := s.write(ctx, func(tx *sql.Tx) error {
		cur, err := getLock(ctx, tx, l.Plan, l.Env)
		switch {
		case err == nil && cur.SameHolder(l):
			l = cur
			return heartbeat(ctx, tx, &l, s.clock())
		case err == nil:
			return &store.LockedError{Lock: cur}
		case !errors.Is(err, store.ErrNotFound):
			return err
		}
		if err := runExists(ctx, tx, l.RunID); err != nil {
			return fmt.Errorf("%s: %w", lockName(l.Plan, l.Env), err)
		}
		return insertLock(ctx, tx, &l, s.clock())
	})
	if err != nil {
		return store.Lock{}, err
	}
	return l, nil
}

func insertLock(ctx context.Context, tx *sql.Tx, l *store.Lock, now time.Time) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO locks (`+lockColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		l.Plan, l.Env, l.RunID, l.Holder.PID, l.Holder.Hostname, l.Requester,
		micros(now), micros(now), l.Holder.PIDSpace)
	if err != nil {
		return fmt.Errorf("%s: %w", lockName(l.Plan, l.Env), err)
	}
	l.AcquiredAt, l.HeartbeatAt = now, now
	return nil
}

// heartbeat sets the heartbeat of the lock l (matched on run and holder) to
// now, inside tx.
func heartbeat(ctx context.Context, tx *sql.Tx, l *store.Lock, now time.Time) error {
	res, err := tx.ExecContext(ctx, `UPDATE locks SET heartbeat_us = ?
		WHERE plan = ? AND env = ? AND run_id = ? AND holder_pid = ? AND holder_host = ? AND holder_space = ?`,
		micros(now), l.Plan, l.Env, l.RunID, l.Holder.PID, l.Holder.Hostname, l.Holder.PIDSpace)
	if err != nil {
		return fmt.Errorf("%s: heartbeat: %w", lockName(l.Plan, l.Env), err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return fmt.Errorf("%s: heartbeat: lock changed (%d rows, %v)", lockName(l.Plan, l.Env), n, err)
	}
	l.HeartbeatAt = now
	return nil
}

// Heartbeat implements store.LockStore.
func (s *Store) Heartbeat(ctx context.Context, l store.Lock) error {
	return s.write(ctx, func(tx *sql.Tx) error {
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
	return s.write(ctx, func(tx *sql.Tx) error {
		cur, err := getLock(ctx, tx, plan, env)
		if err != nil {
			return err
		}
		if cur.RunID != runID {
			return &store.LockedError{Lock: cur}
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM locks WHERE plan = ? AND env = ? AND run_id = ?`,
			plan, env, runID)
		if err != nil {
			return fmt.Errorf("%s: release: %w", lockName(plan, env), err)
		}
		return nil
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
	err := s.write(ctx, func(tx *sql.Tx) error {
		cur, err := getLock(ctx, tx, expected.Plan, expected.Env)
		if err != nil {
			return err
		}
		if !cur.SameHolder(expected) {
			return &store.LockedError{Lock: cur}
		}
		if err := runExists(ctx, tx, next.RunID); err != nil {
			return fmt.Errorf("%s: %w", lockName(next.Plan, next.Env), err)
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM locks WHERE plan = ? AND env = ?`, cur.Plan, cur.Env)
		if err != nil {
			return fmt.Errorf("%s: steal: %w", lockName(cur.Plan, cur.Env), err)
		}
		return insertLock(ctx, tx, &next, s.clock())
	})
	if err != nil {
		return store.Lock{}, err
	}
	return next, nil
}
