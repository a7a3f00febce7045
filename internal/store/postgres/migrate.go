package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/golive-dev/golive/internal/store"
)

// migration is one numbered schema change. Migrations are never edited once
// released; a change is a new migration with the next number.
type migration struct {
	version int
	name    string
	sql     string
}

// migrations, in order; version i+1 is migrations[i].
var migrations = []migration{
	{1, "runs, events, live, locks, approvals, leases", schemaV1},
	{2, "approvals' idempotency tokens", schemaV2},
	{3, "golive serve: webhook deliveries, browser sessions, audit", schemaV3}, // server.go
}

// schemaV2 gives each approval the random token of the AddApproval that
// wrote it (NULL for approvals written before, or copied), so that an
// AddApproval retried after its commit's answer was lost finds its own
// approval instead of recording it twice.
const schemaV2 = `
ALTER TABLE approvals ADD COLUMN append_token TEXT;
CREATE UNIQUE INDEX approvals_by_append_token ON approvals (run_id, append_token);
`

// migrateLockKey is the advisory lock (pg_advisory_lock) that serialises
// migrations: "golive" in ASCII.
const migrateLockKey int64 = 0x676f6c697665

// The schema mirrors the SQLite store's, with PostgreSQL types: times are
// timestamptz (microseconds, like the SQLite store), artifact sums jsonb-
// compatible text kept verbatim (canonical JSON, compared as text).
const schemaV1 = `
CREATE TABLE runs (
	id                TEXT PRIMARY KEY,
	plan              TEXT NOT NULL,
	env               TEXT NOT NULL DEFAULT '',
	release           TEXT NOT NULL,
	previous_release  TEXT NOT NULL DEFAULT '',
	requester         TEXT NOT NULL DEFAULT '',
	requester_via     TEXT NOT NULL DEFAULT '',
	requester_os_user TEXT NOT NULL DEFAULT '',
	requester_token   TEXT NOT NULL DEFAULT '',
	ticket            TEXT NOT NULL DEFAULT '',
	plan_hash         TEXT NOT NULL DEFAULT '',
	artifacts         TEXT,
	state             TEXT NOT NULL,
	reason            TEXT NOT NULL DEFAULT '',
	created_at        TIMESTAMPTZ NOT NULL,
	updated_at        TIMESTAMPTZ NOT NULL,
	started_at        TIMESTAMPTZ,
	finished_at       TIMESTAMPTZ,
	last_seq          BIGINT NOT NULL DEFAULT 0,
	lease_holder      TEXT NOT NULL DEFAULT '',
	lease_epoch       BIGINT NOT NULL DEFAULT 0,
	lease_expires     TIMESTAMPTZ
);
CREATE INDEX runs_by_plan_env ON runs (plan, env, created_at DESC, id DESC);
CREATE INDEX runs_by_created ON runs (created_at DESC, id DESC);

CREATE TABLE events (
	run_id        TEXT NOT NULL REFERENCES runs (id),
	seq           BIGINT NOT NULL,
	token         TEXT, -- the appender's idempotency token; NULL for events written with a state change
	time          TIMESTAMPTZ NOT NULL,
	kind          TEXT NOT NULL,
	action        TEXT NOT NULL,
	stage         TEXT NOT NULL DEFAULT '',
	batch         BIGINT NOT NULL DEFAULT 0,
	host          TEXT NOT NULL DEFAULT '',
	step          TEXT NOT NULL DEFAULT '',
	exit_code     BIGINT,
	duration_ns   BIGINT NOT NULL DEFAULT 0,
	output        TEXT NOT NULL DEFAULT '',
	message       TEXT NOT NULL DEFAULT '',
	actor         TEXT NOT NULL DEFAULT '',
	actor_via     TEXT NOT NULL DEFAULT '',
	actor_os_user TEXT NOT NULL DEFAULT '',
	actor_token   TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (run_id, seq)
);
CREATE UNIQUE INDEX events_by_token ON events (run_id, token);
CREATE FUNCTION golive_events_append_only() RETURNS trigger LANGUAGE plpgsql AS
$$ BEGIN RAISE EXCEPTION 'events are append-only'; END $$;
CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
FOR EACH ROW EXECUTE FUNCTION golive_events_append_only();

CREATE TABLE live (
	plan    TEXT NOT NULL,
	env     TEXT NOT NULL,
	host    TEXT NOT NULL,
	release TEXT NOT NULL,
	run_id  TEXT NOT NULL REFERENCES runs (id),
	since   TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (plan, env, host)
);

CREATE TABLE locks (
	plan         TEXT NOT NULL,
	env          TEXT NOT NULL,
	run_id       TEXT NOT NULL REFERENCES runs (id),
	holder_pid   BIGINT NOT NULL,
	holder_host  TEXT NOT NULL,
	holder_space TEXT NOT NULL DEFAULT '',
	requester    TEXT NOT NULL DEFAULT '',
	acquired_at  TIMESTAMPTZ NOT NULL,
	heartbeat_at TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (plan, env)
);

CREATE TABLE approvals (
	id        BIGSERIAL PRIMARY KEY,
	run_id    TEXT NOT NULL REFERENCES runs (id),
	gate      TEXT NOT NULL DEFAULT '',
	approver  TEXT NOT NULL,
	via       TEXT NOT NULL DEFAULT '',
	os_user   TEXT NOT NULL DEFAULT '',
	token     TEXT NOT NULL DEFAULT '',
	decision  TEXT NOT NULL CHECK (decision IN ('approve', 'reject')),
	comment   TEXT NOT NULL DEFAULT '',
	plan_hash TEXT NOT NULL DEFAULT '',
	release   TEXT NOT NULL DEFAULT '',
	env       TEXT NOT NULL DEFAULT '',
	artifacts TEXT,
	time      TIMESTAMPTZ NOT NULL
);
CREATE INDEX approvals_by_run ON approvals (run_id, id);
`

// OpenRetryFor is how long Open keeps trying to reach the database.
const OpenRetryFor = 10 * time.Second

// SchemaVersion is the schema version this package writes.
func SchemaVersion() int { return len(migrations) }

// migrate applies the migrations the database lacks, holding the advisory
// lock migrateLockKey on one connection meanwhile, so that processes
// starting together apply each migration exactly once: the others wait,
// then find nothing to do. Each migration commits with its
// schema_migrations row.
func (s *Store) migrate(ctx context.Context) error {
	// A database that cannot be reached at all when golive starts is
	// most likely a wrong address: retry only briefly (OpenRetryFor).
	ctx, cancel := context.WithTimeout(ctx, min(s.retryFor, OpenRetryFor)+time.Second)
	defer cancel()
	saved := s.retryFor
	s.retryFor = min(s.retryFor, OpenRetryFor)
	defer func() { s.retryFor = saved }()
	return s.retry(ctx, false, func(int) error {
		conn, err := s.pool.Acquire(ctx)
		if err != nil {
			return err
		}
		defer conn.Release()
		if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, migrateLockKey); err != nil {
			return fmt.Errorf("migrate: lock: %w", err)
		}
		defer func() { _, _ = conn.Exec(context.Background(), `SELECT pg_advisory_unlock($1)`, migrateLockKey) }()
		_, err = conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    INTEGER PRIMARY KEY,
			name       TEXT NOT NULL,
			applied_at TIMESTAMPTZ NOT NULL
		)`)
		if err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		for _, m := range migrations {
			err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error { return s.apply(ctx, tx, m) })
			if err != nil {
				return fmt.Errorf("migrate %d (%s): %w", m.version, m.name, err)
			}
		}
		return nil
	})
}

// apply applies m in tx unless it was applied already; it refuses a
// database whose schema is newer than this package knows.
func (s *Store) apply(ctx context.Context, tx pgx.Tx, m migration) error {
	var latest int
	if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&latest); err != nil {
		return err
	}
	if due, err := store.MigrationDue(latest, len(migrations), m.version); !due {
		return err
	}
	if _, err := tx.Exec(ctx, m.sql); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
		m.version, m.name, s.clock())
	return err
}
