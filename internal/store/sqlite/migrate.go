package sqlite

import (
	"context"
	"database/sql"
	"fmt"

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
	{1, "runs, events, live, locks, approvals", schemaV1},
	{2, "identities beside claimed names; runs and approvals bound to artifact sha256s", schemaV2},
	{3, "lock holders' pid space", schemaV3},
	{4, "run leases", schemaV4},
	{5, "golive serve: webhook deliveries, browser sessions, audit", schemaV5}, // server.go
}

// schemaV4 adds each run's lease (store.Lease): who executes it, its
// epoch and when the lease expires.
const schemaV4 = `
ALTER TABLE runs ADD COLUMN lease_holder TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN lease_epoch INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN lease_expires_us INTEGER NOT NULL DEFAULT 0;
`

// schemaV3 records where a lock holder's pid is valid (store.Holder.PIDSpace).
const schemaV3 = `ALTER TABLE locks ADD COLUMN holder_space TEXT NOT NULL DEFAULT '';`

const schemaV1 = `
CREATE TABLE runs (
	id               TEXT PRIMARY KEY,
	plan             TEXT NOT NULL,
	env              TEXT NOT NULL DEFAULT '',
	release          TEXT NOT NULL,
	previous_release TEXT NOT NULL DEFAULT '',
	requester        TEXT NOT NULL DEFAULT '',
	ticket           TEXT NOT NULL DEFAULT '',
	plan_hash        TEXT NOT NULL DEFAULT '',
	state            TEXT NOT NULL,
	reason           TEXT NOT NULL DEFAULT '',
	created_us       INTEGER NOT NULL,
	updated_us       INTEGER NOT NULL,
	started_us       INTEGER,
	finished_us      INTEGER,
	last_seq         INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX runs_by_plan_env ON runs (plan, env, created_us DESC, id DESC);
CREATE INDEX runs_by_created ON runs (created_us DESC, id DESC);

CREATE TABLE events (
	run_id      TEXT NOT NULL REFERENCES runs (id),
	seq         INTEGER NOT NULL,
	time_us     INTEGER NOT NULL,
	kind        TEXT NOT NULL,
	action      TEXT NOT NULL,
	stage       TEXT NOT NULL DEFAULT '',
	batch       INTEGER NOT NULL DEFAULT 0,
	host        TEXT NOT NULL DEFAULT '',
	step        TEXT NOT NULL DEFAULT '',
	exit_code   INTEGER,
	duration_ns INTEGER NOT NULL DEFAULT 0,
	output      TEXT NOT NULL DEFAULT '',
	message     TEXT NOT NULL DEFAULT '',
	actor       TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (run_id, seq)
) STRICT;
CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
CREATE TRIGGER events_append_only_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;

CREATE TABLE live (
	plan     TEXT NOT NULL,
	env      TEXT NOT NULL,
	host     TEXT NOT NULL,
	release  TEXT NOT NULL,
	run_id   TEXT NOT NULL REFERENCES runs (id),
	since_us INTEGER NOT NULL,
	PRIMARY KEY (plan, env, host)
) STRICT;

CREATE TABLE locks (
	plan         TEXT NOT NULL,
	env          TEXT NOT NULL,
	run_id       TEXT NOT NULL REFERENCES runs (id),
	holder_pid   INTEGER NOT NULL,
	holder_host  TEXT NOT NULL,
	requester    TEXT NOT NULL DEFAULT '',
	acquired_us  INTEGER NOT NULL,
	heartbeat_us INTEGER NOT NULL,
	PRIMARY KEY (plan, env)
) STRICT;

CREATE TABLE approvals (
	id        INTEGER PRIMARY KEY,
	run_id    TEXT NOT NULL REFERENCES runs (id),
	gate      TEXT NOT NULL DEFAULT '',
	approver  TEXT NOT NULL,
	decision  TEXT NOT NULL CHECK (decision IN ('approve', 'reject')),
	comment   TEXT NOT NULL DEFAULT '',
	plan_hash TEXT NOT NULL DEFAULT '',
	release   TEXT NOT NULL DEFAULT '',
	env       TEXT NOT NULL DEFAULT '',
	time_us   INTEGER NOT NULL
) STRICT;
CREATE INDEX approvals_by_run ON approvals (run_id, id);
`

// schemaV2 records, beside every claimed name, how it was given (via: cli
// or api), the OS user of the process that recorded it and the API token's
// name; and the artifact sha256s a run and its approvals are bound to (JSON
// objects; NULL for older runs, which are not bound to them).
const schemaV2 = `
ALTER TABLE runs ADD COLUMN requester_via TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN requester_os_user TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN requester_token TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN artifacts TEXT;
ALTER TABLE approvals ADD COLUMN via TEXT NOT NULL DEFAULT '';
ALTER TABLE approvals ADD COLUMN os_user TEXT NOT NULL DEFAULT '';
ALTER TABLE approvals ADD COLUMN token TEXT NOT NULL DEFAULT '';
ALTER TABLE approvals ADD COLUMN artifacts TEXT;
ALTER TABLE events ADD COLUMN actor_via TEXT NOT NULL DEFAULT '';
ALTER TABLE events ADD COLUMN actor_os_user TEXT NOT NULL DEFAULT '';
ALTER TABLE events ADD COLUMN actor_token TEXT NOT NULL DEFAULT '';
`

// SchemaVersion is the schema version this package writes.
func SchemaVersion() int { return len(migrations) }

// migrate applies the migrations the database lacks, each in its own
// immediate transaction, so that two processes opening a new database at the
// same time apply each migration once.
func (s *Store) migrate(ctx context.Context) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    INTEGER PRIMARY KEY,
			name       TEXT NOT NULL,
			applied_us INTEGER NOT NULL
		) STRICT`)
		return err
	})
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	for _, m := range migrations {
		if err := s.write(ctx, func(tx *sql.Tx) error { return s.apply(ctx, tx, m) }); err != nil {
			return fmt.Errorf("migrate %d (%s): %w", m.version, m.name, err)
		}
	}
	return nil
}

// apply applies m in tx unless it was applied already; it refuses a database
// that has migrations newer than this package knows.
func (s *Store) apply(ctx context.Context, tx *sql.Tx, m migration) error {
	var latest int
	err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&latest)
	if err != nil {
		return err
	}
	if due, err := store.MigrationDue(latest, len(migrations), m.version); !due {
		return err
	}
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_us) VALUES (?, ?, ?)`,
		m.version, m.name, micros(s.now()))
	return err
}
