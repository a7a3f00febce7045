package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/golive-dev/golive/internal/store"
)

const setLiveSQL = `INSERT INTO live (plan, env, host, release, run_id, since_us)
	VALUES (?, ?, ?, ?, ?, ?)
	ON CONFLICT (plan, env, host) DO UPDATE SET
		release = excluded.release, run_id = excluded.run_id, since_us = excluded.since_us`

// SetLive implements store.LiveStore.
func (s *Store) SetLive(ctx context.Context, plan, env, host, release, runID string) error {
	if plan == "" || host == "" || release == "" || runID == "" {
		return fmt.Errorf("live %s/%s %s: plan, host, release and run id are required: %w",
			plan, env, host, store.ErrInvalid)
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		if err := runExists(ctx, tx, runID); err != nil {
			return fmt.Errorf("live %s/%s %s: %w", plan, env, host, err)
		}
		_, err := tx.ExecContext(ctx, setLiveSQL, plan, env, host, release, runID, micros(s.clock()))
		if err != nil {
			return fmt.Errorf("live %s/%s %s: %w", plan, env, host, err)
		}
		return nil
	})
}

// DeleteLive forgets the live release of host for plan in env.
func (s *Store) DeleteLive(ctx context.Context, plan, env, host string) error {
	if plan == "" || host == "" {
		return fmt.Errorf("live %s/%s %s: plan and host are required: %w", plan, env, host, store.ErrInvalid)
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM live WHERE plan = ? AND env = ? AND host = ?`, plan, env, host); err != nil {
			return fmt.Errorf("live %s/%s %s: %w", plan, env, host, err)
		}
		return nil
	})
}

// SetLiveMany records release as live on every host of hosts for plan in
// env, deployed by run runID (which must exist), as SetLive does for each, in
// one transaction: either every host is recorded or none is. All of them get
// the same Since. An empty hosts does nothing. A host that is listed twice is
// recorded once.
func (s *Store) SetLiveMany(ctx context.Context, plan, env string, hosts []string, release, runID string) error {
	if plan == "" || release == "" || runID == "" {
		return fmt.Errorf("live %s/%s: plan, release and run id are required: %w", plan, env, store.ErrInvalid)
	}
	for _, host := range hosts {
		if host == "" {
			return fmt.Errorf("live %s/%s: empty host: %w", plan, env, store.ErrInvalid)
		}
	}
	if len(hosts) == 0 {
		return nil
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		if err := runExists(ctx, tx, runID); err != nil {
			return fmt.Errorf("live %s/%s: %w", plan, env, err)
		}
		stmt, err := tx.PrepareContext(ctx, setLiveSQL)
		if err != nil {
			return fmt.Errorf("live %s/%s: %w", plan, env, err)
		}
		defer stmt.Close()
		since := micros(s.clock())
		for _, host := range hosts {
			if _, err := stmt.ExecContext(ctx, plan, env, host, release, runID, since); err != nil {
				return fmt.Errorf("live %s/%s %s: %w", plan, env, host, err)
			}
		}
		return nil
	})
}

// Live implements store.LiveStore.
func (s *Store) Live(ctx context.Context, plan, env string) (map[string]store.LiveRelease, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT host, release, run_id, since_us FROM live
		WHERE plan = ? AND env = ?`, plan, env)
	if err != nil {
		return nil, fmt.Errorf("live %s/%s: %w", plan, env, err)
	}
	defer rows.Close()
	live := map[string]store.LiveRelease{}
	for rows.Next() {
		l := store.LiveRelease{Plan: plan, Env: env}
		var since int64
		if err := rows.Scan(&l.Host, &l.Release, &l.RunID, &since); err != nil {
			return nil, fmt.Errorf("live %s/%s: %w", plan, env, err)
		}
		l.Since = fromMicros(since)
		live[l.Host] = l
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("live %s/%s: %w", plan, env, err)
	}
	return live, nil
}

// PreviousRelease implements store.LiveStore.
func (s *Store) PreviousRelease(ctx context.Context, plan, env string) (string, error) {
	live, err := s.Live(ctx, plan, env)
	if err != nil {
		return "", err
	}
	if rel := store.MajorityRelease(live); rel != "" {
		return rel, nil
	}
	var rel string
	err = s.db.QueryRowContext(ctx, `SELECT release FROM runs
		WHERE plan = ? AND env = ? AND state = ?
		ORDER BY created_us DESC, id DESC LIMIT 1`, plan, env, store.StateSucceeded).Scan(&rel)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("previous release of %s/%s: %w", plan, env, err)
	}
	return rel, nil
}
