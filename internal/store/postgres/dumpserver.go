package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/golive-dev/golive/internal/store"
)

// exportServer reads what `golive serve` keeps (store.ServerStore) into t,
// in the export's transaction.
func exportServer(ctx context.Context, tx pgx.Tx, t *store.Tables) error {
	var err error
	if t.Deliveries, err = queryAll(ctx, tx, scanDelivery, `SELECT plan, id, time FROM hook_deliveries ORDER BY plan, id`); err != nil {
		return fmt.Errorf("webhook deliveries: %w", err)
	}
	if t.Sessions, err = queryAll(ctx, tx, scanSession, `SELECT id_hash, name, token_sha256, created_at, expires_at
		FROM sessions ORDER BY id_hash`); err != nil {
		return fmt.Errorf("sessions: %w", err)
	}
	if t.Audit, err = queryAll(ctx, tx, scanAudit, `SELECT id, time, kind, plan, remote, identity, reason
		FROM audit ORDER BY id`); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	return nil
}

func scanDelivery(row pgx.Row) (store.Delivery, error) {
	var d store.Delivery
	err := row.Scan(&d.Plan, &d.ID, &d.Time)
	d.Time = utc(d.Time)
	return d, err
}

func scanSession(row pgx.Row) (store.Session, error) {
	var s store.Session
	err := row.Scan(&s.IDHash, &s.Name, &s.TokenSHA256, &s.Created, &s.Expires)
	s.Created, s.Expires = utc(s.Created), utc(s.Expires)
	return s, err
}

func scanAudit(row pgx.Row) (store.AuditEntry, error) {
	var a store.AuditEntry
	err := row.Scan(&a.ID, &a.Time, &a.Kind, &a.Plan, &a.Remote, &a.Identity, &a.Reason)
	a.Time = utc(a.Time)
	return a, err
}

func (im *importer) PutDelivery(d store.Delivery) error {
	_, err := im.tx.Exec(im.ctx, `INSERT INTO hook_deliveries (plan, id, time) VALUES ($1, $2, $3)
		ON CONFLICT (plan, id) DO UPDATE SET time = GREATEST(hook_deliveries.time, excluded.time)`,
		clean(d.Plan), clean(d.ID), d.Time.UTC().Truncate(time.Microsecond))
	if err != nil {
		return fmt.Errorf("webhook delivery %q of %s: %w", d.ID, d.Plan, err)
	}
	return nil
}

func (im *importer) PutSession(s store.Session) error {
	_, err := im.tx.Exec(im.ctx, `INSERT INTO sessions (id_hash, name, token_sha256, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5)`, clean(s.IDHash), clean(s.Name), clean(s.TokenSHA256),
		s.Created.UTC().Truncate(time.Microsecond), s.Expires.UTC().Truncate(time.Microsecond))
	if isUnique(err) {
		return fmt.Errorf("session of %s: %w", s.Name, store.ErrExists)
	}
	if err != nil {
		return fmt.Errorf("session of %s: %w", s.Name, err)
	}
	return nil
}

func (im *importer) PutAudit(a store.AuditEntry, newID bool) error {
	args := []any{a.Time.UTC().Truncate(time.Microsecond), clean(a.Kind), clean(a.Plan), clean(a.Remote), clean(a.Identity), clean(a.Reason)}
	q := `INSERT INTO audit (time, kind, plan, remote, identity, reason) VALUES ($1, $2, $3, $4, $5, $6)`
	if !newID {
		q = `INSERT INTO audit (time, kind, plan, remote, identity, reason, id) VALUES ($1, $2, $3, $4, $5, $6, $7)`
		args = append(args, a.ID)
	}
	_, err := im.tx.Exec(im.ctx, q, args...)
	if isUnique(err) {
		return fmt.Errorf("audit entry %d: %w", a.ID, store.ErrExists)
	}
	if err != nil {
		return fmt.Errorf("audit entry %d: %w", a.ID, err)
	}
	return nil
}
