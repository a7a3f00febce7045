package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/golive-dev/golive/internal/store"
)

const setLiveSQL = `INSERT INTO live (plan, env, host, release, run_id, since)
	VALUES ($1, $2, $3, $4, $5, $6)
	ON CONFLICT (plan, env, host) DO UPDATE SET
		release = excluded.release, run_id = excluded.run_id, since = excluded.since`

// SetLive implements store.LiveStore.
func (s *Store) SetLive(ctx context.Context, plan, env, host, release, runID string) error {
	if plan == "" || host == "" || release == "" || runID == "" {
		return fmt.Errorf("live %s/%s %s: plan, host, release and run id are required: %w",
			plan, env, host, store.ErrInvalid)
	}
	return s.SetLiveMany(ctx, plan, env, []string{host}, release, runID)
}

// SetLiveMany records release as live on every host of hosts, in one
// transaction (see the SQLite store's SetLiveMany).
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
	return s.write(ctx, func(tx pgx.Tx, _ int) error {
		if err := runExists(ctx, tx, runID); err != nil {
			return fmt.Errorf("live %s/%s: %w", plan, env, err)
		}
		since := s.clock()
		b := &pgx.Batch{}
		for _, host := range hosts {
			b.Queue(setLiveSQL, clean(plan), clean(env), clean(host), clean(release), runID, since)
		}
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return fmt.Errorf("live %s/%s: %w", plan, env, err)
		}
		return nil
	})
}

// DeleteLive implements store.LiveStore.
func (s *Store) DeleteLive(ctx context.Context, plan, env, host string) error {
	if plan == "" || host == "" {
		return fmt.Errorf("live %s/%s %s: plan and host are required: %w", plan, env, host, store.ErrInvalid)
	}
	return s.write(ctx, func(tx pgx.Tx, _ int) error {
		_, err := tx.Exec(ctx, `DELETE FROM live WHERE plan = $1 AND env = $2 AND host = $3`, plan, env, host)
		return err
	})
}

// Live implements store.LiveStore.
func (s *Store) Live(ctx context.Context, plan, env string) (map[string]store.LiveRelease, error) {
	var live map[string]store.LiveRelease
	err := s.read(ctx, func() error {
		live = map[string]store.LiveRelease{}
		rows, err := s.pool.Query(ctx, `SELECT host, release, run_id, since FROM live WHERE plan = $1 AND env = $2`, plan, env)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			l := store.LiveRelease{Plan: plan, Env: env}
			if err := rows.Scan(&l.Host, &l.Release, &l.RunID, &l.Since); err != nil {
				return err
			}
			l.Since = utc(l.Since)
			live[l.Host] = l
		}
		return rows.Err()
	})
	if err != nil {
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
	err = s.read(ctx, func() error {
		err := s.pool.QueryRow(ctx, `SELECT release FROM runs WHERE plan = $1 AND env = $2 AND state = $3
			ORDER BY created_at DESC, id DESC LIMIT 1`, plan, env, string(store.StateSucceeded)).Scan(&rel)
		if errors.Is(err, pgx.ErrNoRows) {
			rel = ""
			return nil
		}
		return err
	})
	if err != nil {
		return "", fmt.Errorf("previous release of %s/%s: %w", plan, env, err)
	}
	return rel, nil
}
