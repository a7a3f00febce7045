package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/golive-dev/golive/internal/store"
)

// getLease reads the lease of run id, inside q.
func getLease(ctx context.Context, q querier, id string) (store.Lease, error) {
	l := store.Lease{RunID: id}
	var exp int64
	err := q.QueryRowContext(ctx, `SELECT lease_holder, lease_epoch, lease_expires_us FROM runs WHERE id = ?`, id).
		Scan(&l.Holder, &l.Epoch, &exp)
	if errors.Is(err, sql.ErrNoRows) {
		return l, fmt.Errorf("run %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return l, fmt.Errorf("run %s: lease: %w", id, err)
	}
	if l.Epoch > 0 {
		l.Expires = fromMicros(exp)
	}
	return l, nil
}

// checkFence returns a *store.FencedError when epoch is not 0 and not the
// run's lease epoch.
func checkFence(ctx context.Context, q querier, id string, epoch int64) error {
	if epoch == 0 {
		return nil
	}
	cur, err := getLease(ctx, q, id)
	if err != nil {
		return err
	}
	if cur.Epoch != epoch {
		return &store.FencedError{RunID: id, Epoch: epoch, Current: cur.Epoch, Holder: cur.Holder}
	}
	return nil
}

// GetLease implements store.LeaseStore.
func (s *Store) GetLease(ctx context.Context, runID string) (store.Lease, error) {
	return getLease(ctx, s.db, runID)
}

// AcquireLease implements store.LeaseStore.
func (s *Store) AcquireLease(ctx context.Context, runID, holder string, ttl time.Duration) (store.Lease, error) {
	return s.takeLease(ctx, runID, holder, ttl, -1)
}

// StealLease implements store.LeaseStore.
func (s *Store) StealLease(ctx context.Context, expected store.Lease, holder string, ttl time.Duration) (store.Lease, error) {
	return s.takeLease(ctx, expected.RunID, holder, ttl, expected.Epoch)
}

// takeLease acquires (expect < 0) or steals (the run's epoch must be
// expect) the lease of run runID.
func (s *Store) takeLease(ctx context.Context, runID, holder string, ttl time.Duration, expect int64) (store.Lease, error) {
	if err := store.CheckLeaseArgs(runID, holder, ttl); err != nil {
		return store.Lease{}, err
	}
	var l store.Lease
	err := s.write(ctx, func(tx *sql.Tx) error {
		cur, err := getLease(ctx, tx, runID)
		if err != nil {
			return err
		}
		now := s.clock()
		if expect >= 0 && cur.Epoch != expect || expect < 0 && cur.Holder != holder && !cur.Expired(now) {
			return &store.LeaseHeldError{Lease: cur}
		}
		l = store.Lease{RunID: runID, Holder: holder, Epoch: cur.Epoch + 1, Expires: now.Add(ttl)}
		_, err = tx.ExecContext(ctx, `UPDATE runs SET lease_holder = ?, lease_epoch = ?, lease_expires_us = ? WHERE id = ?`,
			l.Holder, l.Epoch, micros(l.Expires), runID)
		if err != nil {
			return fmt.Errorf("run %s: lease: %w", runID, err)
		}
		return nil
	})
	if err != nil {
		return store.Lease{}, err
	}
	return l, nil
}

// RenewLease implements store.LeaseStore.
func (s *Store) RenewLease(ctx context.Context, l store.Lease, ttl time.Duration) (store.Lease, error) {
	if err := store.CheckLeaseArgs(l.RunID, l.Holder, ttl); err != nil {
		return store.Lease{}, err
	}
	err := s.write(ctx, func(tx *sql.Tx) error {
		cur, err := getLease(ctx, tx, l.RunID)
		if err != nil {
			return err
		}
		if cur.Epoch != l.Epoch || cur.Holder != l.Holder {
			return &store.FencedError{RunID: l.RunID, Epoch: l.Epoch, Current: cur.Epoch, Holder: cur.Holder}
		}
		l.Expires = s.clock().Add(ttl)
		_, err = tx.ExecContext(ctx, `UPDATE runs SET lease_expires_us = ? WHERE id = ?`, micros(l.Expires), l.RunID)
		if err != nil {
			return fmt.Errorf("run %s: lease: %w", l.RunID, err)
		}
		return nil
	})
	if err != nil {
		return store.Lease{}, err
	}
	return l, nil
}

// ReleaseLease implements store.LeaseStore.
func (s *Store) ReleaseLease(ctx context.Context, l store.Lease) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE runs SET lease_expires_us = ?
			WHERE id = ? AND lease_epoch = ? AND lease_holder = ?`, micros(s.clock()), l.RunID, l.Epoch, l.Holder)
		if err != nil {
			return fmt.Errorf("run %s: release lease: %w", l.RunID, err)
		}
		return nil
	})
}
