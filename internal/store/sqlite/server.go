package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	sqlite3 "modernc.org/sqlite/lib"

	"github.com/golive-dev/golive/internal/store"
)

// schemaV5 keeps what `golive serve` remembers beside the runs
// (store.ServerStore).
const schemaV5 = `
CREATE TABLE hook_deliveries (
	plan    TEXT NOT NULL,
	id      TEXT NOT NULL,
	time_us INTEGER NOT NULL,
	PRIMARY KEY (plan, id)
) STRICT;
CREATE INDEX hook_deliveries_by_time ON hook_deliveries (time_us);

CREATE TABLE sessions (
	id_hash      TEXT PRIMARY KEY,
	name         TEXT NOT NULL,
	token_sha256 TEXT NOT NULL DEFAULT '',
	created_us   INTEGER NOT NULL,
	expires_us   INTEGER NOT NULL
) STRICT;

CREATE TABLE audit (
	id       INTEGER PRIMARY KEY,
	time_us  INTEGER NOT NULL,
	kind     TEXT NOT NULL,
	plan     TEXT NOT NULL DEFAULT '',
	remote   TEXT NOT NULL DEFAULT '',
	identity TEXT NOT NULL DEFAULT '',
	reason   TEXT NOT NULL DEFAULT ''
) STRICT;
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
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO hook_deliveries (plan, id, time_us) VALUES (?, ?, ?)
			ON CONFLICT (plan, id) DO UPDATE SET time_us = excluded.time_us WHERE hook_deliveries.time_us < ?`,
			d.Plan, d.ID, micros(d.Time), micros(since))
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		fresh = n > 0
		return err
	})
	if err != nil {
		return false, fmt.Errorf("record delivery: %w", err)
	}
	return fresh, nil
}

// ForgetDelivery implements store.ServerStore.
func (s *Store) ForgetDelivery(ctx context.Context, plan, id string) error {
	_, err := s.deleteWhere(ctx, "forget delivery", `DELETE FROM hook_deliveries WHERE plan = ? AND id = ?`, plan, id)
	return err
}

// ForgetDeliveries implements store.ServerStore.
func (s *Store) ForgetDeliveries(ctx context.Context, before time.Time) (int, error) {
	return s.deleteWhere(ctx, "forget deliveries", `DELETE FROM hook_deliveries WHERE time_us < ?`, micros(before))
}

func (s *Store) deleteWhere(ctx context.Context, what, query string, args ...any) (int, error) {
	var n int64
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, query, args...)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
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
	err := s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO sessions (id_hash, name, token_sha256, created_us, expires_us)
			VALUES (?, ?, ?, ?, ?)`, sess.IDHash, sess.Name, sess.TokenSHA256, micros(sess.Created), micros(sess.Expires))
		if isConstraint(err, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY) {
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
	var created, expires int64
	err := s.db.QueryRowContext(ctx, `SELECT name, token_sha256, created_us, expires_us FROM sessions
		WHERE id_hash = ? AND expires_us > ?`, idHash, micros(now)).Scan(&sess.Name, &sess.TokenSHA256, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Session{}, fmt.Errorf("session: %w", store.ErrNotFound)
	}
	if err != nil {
		return store.Session{}, fmt.Errorf("session: %w", err)
	}
	sess.Created, sess.Expires = fromMicros(created), fromMicros(expires)
	return sess, nil
}

// DeleteSession implements store.ServerStore.
func (s *Store) DeleteSession(ctx context.Context, idHash string) error {
	_, err := s.deleteWhere(ctx, "delete session", `DELETE FROM sessions WHERE id_hash = ?`, idHash)
	return err
}

// ForgetSessions implements store.ServerStore.
func (s *Store) ForgetSessions(ctx context.Context, now time.Time) (int, error) {
	return s.deleteWhere(ctx, "forget sessions", `DELETE FROM sessions WHERE expires_us <= ?`, micros(now))
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
	err := s.write(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `INSERT INTO audit (time_us, kind, plan, remote, identity, reason)
			VALUES (?, ?, ?, ?, ?, ?) RETURNING id`, micros(a.Time), a.Kind, a.Plan, a.Remote, a.Identity, a.Reason).Scan(&a.ID)
	})
	if err != nil {
		return store.AuditEntry{}, fmt.Errorf("add audit: %w", err)
	}
	return a, nil
}

// ForgetAudit implements store.ServerStore.
func (s *Store) ForgetAudit(ctx context.Context, before time.Time) (int, error) {
	return s.deleteWhere(ctx, "forget audit", `DELETE FROM audit WHERE time_us < ?`, micros(before))
}

// ListAudit implements store.ServerStore.
func (s *Store) ListAudit(ctx context.Context, f store.AuditFilter) ([]store.AuditEntry, error) {
	q := `SELECT id, time_us, kind, plan, remote, identity, reason FROM audit`
	var args []any
	if len(f.Plans) > 0 {
		q += ` WHERE plan IN (?` + strings.Repeat(`, ?`, len(f.Plans)-1) + `)`
		for _, p := range f.Plans {
			args = append(args, p)
		}
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	q += ` ORDER BY id DESC LIMIT ?`
	args = append(args, limit)
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	defer rows.Close()
	out := []store.AuditEntry{}
	for rows.Next() {
		var a store.AuditEntry
		var t int64
		if err := rows.Scan(&a.ID, &t, &a.Kind, &a.Plan, &a.Remote, &a.Identity, &a.Reason); err != nil {
			return nil, fmt.Errorf("audit: %w", err)
		}
		a.Time = fromMicros(t)
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	return out, nil
}

var _ store.ServerStore = (*Store)(nil)
