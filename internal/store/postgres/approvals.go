package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/golive-dev/golive/internal/store"
)

// AddApproval implements store.ApprovalStore. The approval carries a
// random token: when the connection is lost after its commit was sent,
// the retry finds the approval its earlier attempt committed (by the
// token) and returns it, so an approval is never recorded twice.
func (s *Store) AddApproval(ctx context.Context, a store.Approval) (store.Approval, error) {
	if err := a.Validate(); err != nil {
		return store.Approval{}, err
	}
	if a.Time.IsZero() {
		a.Time = s.clock()
	}
	a.Time = a.Time.UTC().Truncate(time.Microsecond)
	a.FillIdentities()
	a.Comment, a.Approver, a.Gate = clean(a.Comment), clean(a.Approver), clean(a.Gate)
	var tok [16]byte
	_, _ = rand.Read(tok[:])
	token := hex.EncodeToString(tok[:])
	in := a
	err := s.write(ctx, func(tx pgx.Tx, attempt int) error {
		a = in
		r, err := getRun(ctx, tx, a.RunID, false)
		if err != nil {
			return fmt.Errorf("approval: %w", err)
		}
		if a.PlanHash == "" && a.Release == "" && a.Env == "" {
			a.PlanHash, a.Release, a.Env = r.PlanHash, r.Release, r.Env
			if a.Artifacts == "" {
				a.Artifacts = r.Artifacts
			}
		}
		if attempt > 0 {
			err := tx.QueryRow(ctx, `SELECT id FROM approvals WHERE run_id = $1 AND append_token = $2`,
				a.RunID, token).Scan(&a.ID)
			if !errors.Is(err, pgx.ErrNoRows) {
				return err // nil: the earlier attempt committed it
			}
		}
		return tx.QueryRow(ctx, `INSERT INTO approvals (run_id, gate, approver, decision,
			comment, plan_hash, release, env, time, via, os_user, token, artifacts, append_token)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
			RETURNING id`, a.RunID, a.Gate, a.Approver, string(a.Decision), a.Comment, a.PlanHash,
			clean(a.Release), clean(a.Env), a.Time, string(a.Via), clean(a.OSUser), clean(a.Token),
			nullSums(a.Artifacts), token).Scan(&a.ID)
	})
	if err != nil {
		return store.Approval{}, fmt.Errorf("run %s: add approval: %w", a.RunID, err)
	}
	return a, nil
}

// ListApprovals implements store.ApprovalStore.
func (s *Store) ListApprovals(ctx context.Context, runID string) ([]store.Approval, error) {
	var list []store.Approval
	err := s.read(ctx, func() error {
		var err error
		list, err = queryAll(ctx, s.pool, scanApproval, `SELECT `+approvalColumns+`
			FROM approvals WHERE run_id = $1 ORDER BY id`, runID)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("run %s: approvals: %w", runID, err)
	}
	if len(list) == 0 {
		if err := s.read(ctx, func() error { return runExists(ctx, s.pool, runID) }); err != nil {
			return nil, err
		}
	}
	return list, nil
}
