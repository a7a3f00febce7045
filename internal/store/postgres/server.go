package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/golive-dev/golive/internal/store"
)

// schemaV3 keeps what `golive serve` remembers beside the runs
// (store.ServerStore), as the SQLite store's schema 5.
const schemaV3 = `
CREATE TABLE hook_deliveries (
	plan TEXT NOT NULL,
	id   TEXT NOT NULL,
	time TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (plan, id)
);
CREATE INDEX hook_deliveries_by_time ON hook_deliveries (time);

CREATE TABLE sessions (
	id_hash      TEXT PRIMARY KEY,
	name         TEXT NOT NULL,
	token_sha256 TEXT NOT NULL DEFAULT '',
	created_at   TIMESTAMPTZ NOT NULL,
	expires_at   TIMESTAMPTZ NOT NULL
);

CREATE TABLE audit (
	id       BIGSERIAL PRIMARY KEY,
	time     TIMESTAMPTZ NOT NULL,
	kind     TEXT NOT NULL,
	plan     TEXT NOT NULL DEFAULT '',
	remote   TEXT NOT NULL DEFAULT '',
	identity TEXT NOT NULL DEFAULT '',
	reason   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_by_plan ON audit (plan, id DESC);
`

// RecordDelivery implements store.ServerStore.
func (s *Store) RecordDelivery(ctx context.Context, d store.Delivery, since time.Time) (bool, error) {
	if d.Plan == "" || d.ID == "" {
		return false, fmt.Errorf("delivery: plan and id are required: %w", store.ErrInvalid)
	}
	if d.Time.IsZero() {
		d.Time = s.clock()
	}
	fresh := false
	err := s.write(ctx, func(tx pgx.Tx, _ int) error {
		tag, err := tx.Exec(ctx, `INSERT INTO hook_deliveries (plan, id, time) VALUES ($1, $2, $3)
			ON CONFLICT (plan, id) DO UPDATE SET time = excluded.time WHERE hook_deliveries.time < $4`,
			clean(d.Plan), clean(d.ID), d.Time.UTC().Truncate(time.Microsecond), since.UTC())
		fresh = tag.RowsAffected() > 0
		return err
	})
	if err != nil {
		return false, fmt.Errorf("record delivery: %w", err)
	}
	return fresh, nil
}

// ForgetDelivery implements store.ServerStore.
func (s *Store) ForgetDelivery(ctx context.Context, plan, id string) error {
	_, err := s.deleteWhere(ctx, "forget delivery", `DELETE FROM hook_deliveries WHERE plan = $1 AND id = $2`, clean(plan), clean(id))
	return err
}

// ForgetDeliveries implements store.ServerStore.
func (s *Store) ForgetDeliveries(ctx context.Context, before time.Time) (int, error) {
	return s.deleteWhere(ctx, "forget deliveries", `DELETE FROM hook_deliveries WHERE time < $1`, before.UTC())
}

func (s *Store) deleteWhere(ctx context.Context, what, query string, args ...any) (int, error) {
	var n int64
	err := s.write(ctx, func(tx pgx.Tx, _ int) error {
		tag, err := tx.Exec(ctx, query, args...)
		n = tag.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("%s: %w", what, err)
	}
	return int(n), nil
}

// CreateSession implements store.ServerStore.
func (s *Store) CreateSession(ctx context.Context, sess store.Session) error {
	if err := sess.Validate(); err != nil {
		return err
	}
	if sess.Created.IsZero() {
		sess.Created = s.clock()
	}
	err := s.write(ctx, func(tx pgx.Tx, _ int) error {
		_, err := tx.Exec(ctx, `INSERT INTO sessions (id_hash, name, token_sha256, created_at, expires_at)
			VALUES ($1, $2, $3, $4, $5)`, clean(sess.IDHash), clean(sess.Name), clean(sess.TokenSHA256),
			sess.Created.UTC(), sess.Expires.UTC())
		if isUnique(err) {
			return fmt.Errorf("session: %w", store.ErrExists)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	return nil
}

// GetSession implements store.ServerStore.
func (s *Store) GetSession(ctx context.Context, idHash string, now time.Time) (store.Session, error) {
	sess := store.Session{IDHash: idHash}
	err := s.read(ctx, func() error {
		return s.pool.QueryRow(ctx, `SELECT name, token_sha256, created_at, expires_at FROM sessions
			WHERE id_hash = $1 AND expires_at > $2`, clean(idHash), now.UTC()).Scan(&sess.Name, &sess.TokenSHA256, &sess.Created, &sess.Expires)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Session{}, fmt.Errorf("session: %w", store.ErrNotFound)
	}
	if err != nil {
		return store.Session{}, fmt.Errorf("session: %w", err)
	}
	sess.Created, sess.Expires = utc(sess.Created), utc(sess.Expires)
	return sess, nil
}

// DeleteSession implements store.ServerStore.
func (s *Store) DeleteSession(ctx context.Context, idHash string) error {
	_, err := s.deleteWhere(ctx, "delete session", `DELETE FROM sessions WHERE id_hash = $1`, clean(idHash))
	return err
}

// ForgetSessions implements store.ServerStore.
func (s *Store) ForgetSessions(ctx context.Context, now time.Time) (int, error) {
	return s.deleteWhere(ctx, "forget sessions", `DELETE FROM sessions WHERE expires_at <= $1`, now.UTC())
}

// AddAudit implements store.ServerStore.
func (s *Store) AddAudit(ctx context.Context, a store.AuditEntry) (store.AuditEntry, error) {
	if a.Kind == "" {
		return store.AuditEntry{}, fmt.Errorf("audit: kind is required: %w", store.ErrInvalid)
	}
	if a.Time.IsZero() {
		a.Time = s.clock()
	}
	a.Time = a.Time.UTC().Truncate(time.Microsecond)
	a.Kind, a.Plan, a.Remote, a.Identity, a.Reason = clean(a.Kind), clean(a.Plan), clean(a.Remote), clean(a.Identity), clean(a.Reason)
	in := a
	err := s.write(ctx, func(tx pgx.Tx, _ int) error {
		a = in
		return tx.QueryRow(ctx, `INSERT INTO audit (time, kind, plan, remote, identity, reason)
			VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`, a.Time, a.Kind, a.Plan, a.Remote, a.Identity, a.Reason).Scan(&a.ID)
	})
	if err != nil {
		return store.AuditEntry{}, fmt.Errorf("add audit: %w", err)
	}
	return a, nil
}

// ForgetAudit implements store.ServerStore.
func (s *Store) ForgetAudit(ctx context.Context, before time.Time) (int, error) {
	return s.deleteWhere(ctx, "forget audit", `DELETE FROM audit WHERE time < $1`, before.UTC())
}

// ListAudit implements store.ServerStore.
func (s *Store) ListAudit(ctx context.Context, f store.AuditFilter) ([]store.AuditEntry, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	plans := []string{}
	for _, p := range f.Plans {
		plans = append(plans, clean(p))
	}
	var out []store.AuditEntry
	err := s.read(ctx, func() error {
		out = []store.AuditEntry{}
		rows, err := s.pool.Query(ctx, `SELECT id, time, kind, plan, remote, identity, reason FROM audit
			WHERE cardinality($1::text[]) = 0 OR plan = ANY($1) ORDER BY id DESC LIMIT $2`, plans, limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var a store.AuditEntry
			if err := rows.Scan(&a.ID, &a.Time, &a.Kind, &a.Plan, &a.Remote, &a.Identity, &a.Reason); err != nil {
				return err
			}
			a.Time = utc(a.Time)
			out = append(out, a)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	return out, nil
}

var _ store.ServerStore = (*Store)(nil)
