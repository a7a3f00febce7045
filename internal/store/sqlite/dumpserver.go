package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	sqlite3 "modernc.org/sqlite/lib"

	"github.com/golive-dev/golive/internal/store"
)

// exportServer reads what `golive serve` keeps (store.ServerStore) into t,
// in the export's transaction.
func exportServer(ctx context.Context, tx querier, t *store.Tables) error {
	var err error
	if t.Deliveries, err = queryAll(ctx, tx, scanDelivery, `SELECT plan, id, time_us FROM hook_deliveries ORDER BY plan, id`); err != nil {
		return fmt.Errorf("export: webhook deliveries: %w", err)
	}
	if t.Sessions, err = queryAll(ctx, tx, scanSession, `SELECT id_hash, name, token_sha256, created_us, expires_us
		FROM sessions ORDER BY id_hash`); err != nil {
		return fmt.Errorf("export: sessions: %w", err)
	}
	if t.Audit, err = queryAll(ctx, tx, scanAudit, `SELECT id, time_us, kind, plan, remote, identity, reason
		FROM audit ORDER BY id`); err != nil {
		return fmt.Errorf("export: audit: %w", err)
	}
	return nil
}

func scanDelivery(sc scanner) (store.Delivery, error) {
	var d store.Delivery
	var t int64
	err := sc.Scan(&d.Plan, &d.ID, &t)
	d.Time = fromMicros(t)
	return d, err
}

func scanSession(sc scanner) (store.Session, error) {
	var s store.Session
	var created, expires int64
	err := sc.Scan(&s.IDHash, &s.Name, &s.TokenSHA256, &created, &expires)
	s.Created, s.Expires = fromMicros(created), fromMicros(expires)
	return s, err
}

func scanAudit(sc scanner) (store.AuditEntry, error) {
	var a store.AuditEntry
	var t int64
	err := sc.Scan(&a.ID, &t, &a.Kind, &a.Plan, &a.Remote, &a.Identity, &a.Reason)
	a.Time = fromMicros(t)
	return a, err
}

func (im *importer) PutDelivery(d store.Delivery) error {
	_, err := im.tx.ExecContext(im.ctx, `INSERT INTO hook_deliveries (plan, id, time_us) VALUES (?, ?, ?)
		ON CONFLICT (plan, id) DO UPDATE SET time_us = MAX(time_us, excluded.time_us)`, d.Plan, d.ID, micros(d.Time))
	if err != nil {
		return fmt.Errorf("webhook delivery %q of %s: %w", d.ID, d.Plan, err)
	}
	return nil
}

func (im *importer) PutSession(s store.Session) error {
	_, err := im.tx.ExecContext(im.ctx, `INSERT INTO sessions (id_hash, name, token_sha256, created_us, expires_us)
		VALUES (?, ?, ?, ?, ?)`, s.IDHash, s.Name, s.TokenSHA256, micros(s.Created), micros(s.Expires))
	if isConstraint(err, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY) {
		return fmt.Errorf("session of %s: %w", s.Name, store.ErrExists)
	}
	if err != nil {
		return fmt.Errorf("session of %s: %w", s.Name, err)
	}
	return nil
}

func (im *importer) PutAudit(a store.AuditEntry, newID bool) error {
	id := sql.NullInt64{Int64: a.ID, Valid: !newID}
	_, err := im.tx.ExecContext(im.ctx, `INSERT INTO audit (id, time_us, kind, plan, remote, identity, reason)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, id, micros(a.Time), a.Kind, a.Plan, a.Remote, a.Identity, a.Reason)
	if isConstraint(err, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY) {
		return fmt.Errorf("audit entry %d: %w", a.ID, store.ErrExists)
	}
	if err != nil {
		return fmt.Errorf("audit entry %d: %w", a.ID, err)
	}
	return nil
}
