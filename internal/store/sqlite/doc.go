// Package sqlite is the embedded store: a store.Store in one SQLite file
// (modernc.org/sqlite, pure Go), by default .golive/state.db beside the plan.
//
// The database runs in WAL mode with synchronous=FULL, so an event that
// AppendEvent accepted survives the controller being killed (and the machine
// losing power), with foreign keys on and a busy timeout so that several
// golive processes can share the file. Every write is an immediate
// transaction; within one process writes are serialized, across processes
// SQLite's busy timeout makes them wait for each other.
//
// AppendEvent is group-committed: one writer goroutine per Store writes all
// the events queued while it was busy in one transaction (one fsync) and
// answers each caller after the commit; see appends.go.
//
// The schema is versioned: numbered migrations are applied in order, each in
// its own transaction, and recorded in the schema_migrations table. A
// database written by a newer golive (with an unknown migration) is refused.
package sqlite
