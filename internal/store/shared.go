package store

import (
	"context"
	"fmt"
)

// Logic every implementation shares, whatever its SQL.

// LatestOf returns the newest run of plan in env as runs lists it (the
// LatestRun of every store), or ErrNotFound.
func LatestOf(ctx context.Context, runs interface {
	ListRuns(ctx context.Context, f RunFilter) ([]Run, error)
}, plan, env string) (Run, error) {
	list, err := runs.ListRuns(ctx, RunFilter{Plan: plan, Env: env, Limit: 1})
	if err != nil {
		return Run{}, err
	}
	if len(list) == 0 {
		return Run{}, fmt.Errorf("latest run of %s/%s: %w", plan, env, ErrNotFound)
	}
	return list[0], nil
}

// MigrationDue decides whether migration version must be applied to a
// database whose latest applied migration is latest, by a store that
// knows migrations 1 to known: false when it was applied already; an
// error when the database is newer than the store knows ("upgrade
// golive") or misses the migration before version.
func MigrationDue(latest, known, version int) (bool, error) {
	if latest > known {
		return false, fmt.Errorf("database schema version %d is newer than this golive knows (%d): upgrade golive", latest, known)
	}
	if latest >= version {
		return false, nil
	}
	if latest != version-1 {
		return false, fmt.Errorf("database schema version %d, want %d", latest, version-1)
	}
	return true, nil
}

// TakeBatch is the batch of a group commit: first, then what else is
// queued on ch now (without waiting), up to max requests, in batch's
// storage.
func TakeBatch[T any](batch []T, first T, ch <-chan T, max int) []T {
	batch = append(batch[:0], first)
	for len(batch) < max {
		select {
		case req, ok := <-ch:
			if !ok {
				return batch
			}
			batch = append(batch, req)
		default:
			return batch
		}
	}
	return batch
}
