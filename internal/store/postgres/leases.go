package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/golive-dev/golive/internal/store"
)

func getLease(ctx context.Context, q querier, id string, forUpdate bool) (store.Lease, error) {
	l := store.Lease{RunID: id}
	var exp *time.Time
	sql := `SELECT lease_holder, lease_epoch, lease_expires FROM runs WHERE id = $1`
	if forUpdate {
		sql += ` FOR UPDATE`
	}
	err := q.QueryRow(ctx, sql, id).Scan(&l.Holder, &l.Epoch, &exp)
	if errors.Is(err, pgx.ErrNoRows) {
		return l, fmt.Errorf("run %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return l, fmt.Errorf("run %s: lease: %w", id, err)
	}
	l.Expires = fromNull(exp)
	return l, nil
}

// checkFence returns a *store.FencedError when epoch is not 0 and not the
// run's lease epoch.
func checkFence(ctx context.Context, q querier, id string, epoch int64) error {
	if epoch == 0 {
		return nil
	}
	cur, err := getLease(ctx, q, id, false)
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
	var l store.Lease
	err := s.read(ctx, func() error {
		var err error
		l, err = getLease(ctx, s.pool, runID, false)
		return err
	})
	return l, err
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
// expect) the lease of run runID. A retry after a commit whose answer was
// lost finds the lease already taken by holder with expect+1 and takes it
// as its own.
func (s *Store) takeLease(ctx context.Context, runID, holder string, ttl time.Duration, expect int64) (store.Lease, error) {
	if err := store.CheckLeaseArgs(runID, holder, ttl); err != nil {
		return store.Lease{}, err
	}
	holder = clean(holder)
	var l store.Lease
	err := s.write(ctx, func(tx pgx.Tx, attempt int) error {
		cur, err := getLease(ctx, tx, runID, true)
		if err != nil {
			return err
		}
		now := s.clock()
		if attempt > 0 && expect >= 0 && cur.Epoch == expect+1 && cur.Holder == holder {
			l = cur
			return nil
		}
		if expect >= 0 && cur.Epoch != expect || expect < 0 && cur.Holder != holder && !cur.Expired(now) {
			return &store.LeaseHeldError{Lease: cur}
		}
		l = store.Lease{RunID: runID, Holder: holder, Epoch: cur.Epoch + 1, Expires: now.Add(ttl)}
		_, err = tx.Exec(ctx, `UPDATE runs SET lease_holder = $1, lease_epoch = $2, lease_expires = $3 WHERE id = $4`,
			l.Holder, l.Epoch, l.Expires, runID)
		return err
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
	// Patient (see retry): the executor renewing its lease keeps trying
	// while PostgreSQL is away, until it regains the lease or is fenced.
	err := s.writeWith(ctx, true, func(tx pgx.Tx, _ int) error {
		cur, err := getLease(ctx, tx, l.RunID, true)
		if err != nil {
			return err
		}
		if cur.Epoch != l.Epoch || cur.Holder != l.Holder {
			return &store.FencedError{RunID: l.RunID, Epoch: l.Epoch, Current: cur.Epoch, Holder: cur.Holder}
		}
		l.Expires = s.clock().Add(ttl)
		_, err = tx.Exec(ctx, `UPDATE runs SET lease_expires = $1 WHERE id = $2`, l.Expires, l.RunID)
		return err
	})
	if err != nil {
		return store.Lease{}, err
	}
	return l, nil
}

// ReleaseLease implements store.LeaseStore.
func (s *Store) ReleaseLease(ctx context.Context, l store.Lease) error {
	return s.write(ctx, func(tx pgx.Tx, _ int) error {
		_, err := tx.Exec(ctx, `UPDATE runs SET lease_expires = $1
			WHERE id = $2 AND lease_epoch = $3 AND lease_holder = $4`, s.clock(), l.RunID, l.Epoch, l.Holder)
		return err
	})
}
