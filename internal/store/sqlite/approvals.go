package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/golive-dev/golive/internal/store"
)

// AddApproval implements store.ApprovalStore.
func (s *Store) AddApproval(ctx context.Context, a store.Approval) (store.Approval, error) {
	if err := a.Validate(); err != nil {
		return store.Approval{}, err
	}
	if a.Time.IsZero() {
		a.Time = s.clock()
	}
	a.Time = a.Time.UTC().Truncate(time.Microsecond)
	a.FillIdentities()
	err := s.write(ctx, func(tx *sql.Tx) error {
		r, err := getRun(ctx, tx, a.RunID)
		if err != nil {
			return fmt.Errorf("approval: %w", err)
		}
		if a.PlanHash == "" && a.Release == "" && a.Env == "" {
			a.PlanHash, a.Release, a.Env = r.PlanHash, r.Release, r.Env
			if a.Artifacts == "" {
				a.Artifacts = r.Artifacts
			}
		}
		err = tx.QueryRowContext(ctx, `INSERT INTO approvals (run_id, gate, approver, decision,
			comment, plan_hash, release, env, time_us, via, os_user, token, artifacts)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			RETURNING id`, a.RunID, a.Gate, a.Approver, a.Decision, a.Comment, a.PlanHash,
			a.Release, a.Env, micros(a.Time), a.Via, a.OSUser, a.Token, encodeSums(a.Artifacts)).Scan(&a.ID)
		if err != nil {
			return fmt.Errorf("run %s: add approval: %w", a.RunID, err)
		}
		return nil
	})
	if err != nil {
		return store.Approval{}, err
	}
	return a, nil
}

// ListApprovals implements store.ApprovalStore.
func (s *Store) ListApprovals(ctx context.Context, runID string) ([]store.Approval, error) {
	list, err := queryAll(ctx, s.db, scanApproval, `SELECT `+approvalColumns+`
		FROM approvals WHERE run_id = ? ORDER BY id`, runID)
	if err != nil {
		return nil, fmt.Errorf("run %s: approvals: %w", runID, err)
	}
	if len(list) == 0 {
		if err := runExists(ctx, s.db, runID); err != nil {
			return nil, err
		}
	}
	return list, nil
}
