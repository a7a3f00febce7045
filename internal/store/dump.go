package store

import "context"

// Reading a whole store and writing it verbatim: what `golive store copy`
// and `golive store check` are built on (package storetools).

// RunRecord is a run with everything the store keeps about it.
type RunRecord struct {
	Run Run
	// LastSeq is the run's journal counter: the seq its next event
	// follows. In a sound store it is the Seq of its last event.
	LastSeq   int64
	Lease     Lease // Epoch 0: never leased
	Events    []Event
	Approvals []Approval // in the order they were added (by ID)
}

// Tables is what a store keeps beside its runs.
type Tables struct {
	Live    []LiveRelease // ordered by plan, env, host
	Locks   []Lock        // ordered by plan, env
	Orphans []Orphan      // records naming a run that does not exist
	// What `golive serve` keeps (ServerStore): the webhook deliveries
	// seen (replay protection), the browser sessions and the audit.
	Deliveries []Delivery   // ordered by plan, id
	Sessions   []Session    // ordered by id hash
	Audit      []AuditEntry // ordered by id
}

// Orphan is a record that names a run the store does not have. Stores
// enforce the reference, so an orphan comes from outside golive (a hand
// edit, a tool writing with foreign keys off, a partial restore); it
// cannot be copied.
type Orphan struct {
	Table string // "events", "approvals", "live" or "locks"
	RunID string // the run it names
	// What says which record: "seq 4", "approval 7", "host h1 of web/prod",
	// "lock web/prod".
	What string
}

// Dumper is a store that can be read whole, in one consistent snapshot,
// and written verbatim (run ids, seqs, times, leases, approval ids) in one
// transaction.
type Dumper interface {
	Store
	// Export calls fn with every run, oldest first (by creation time,
	// then id), each with its lease, events and approvals, then returns
	// the live releases, locks and orphans; all read in one snapshot. An
	// error from fn stops it and is returned.
	Export(ctx context.Context, fn func(RunRecord) error) (Tables, error)
	// Import writes what fill puts into the store in one transaction:
	// either all of it is stored or (when fill or a put fails) nothing.
	Import(ctx context.Context, fill func(Importer) error) error
	// KeepText returns s as the store keeps text: PostgreSQL's text cannot
	// hold NUL bytes or invalid UTF-8 (each becomes U+FFFD); SQLite keeps
	// s as it is.
	KeepText(s string) string
}

// Importer puts records in an Import's transaction. Each fails when the
// record exists already (a run id, a lock's plan and env), except PutLive,
// which replaces what is live on the host.
type Importer interface {
	// PutRun stores the run, its counter, lease, events and approvals as
	// they are. With newApprovalIDs, its approvals get new ids from the
	// store (in their order) instead of keeping theirs.
	PutRun(rec RunRecord, newApprovalIDs bool) error
	PutLive(l LiveRelease) error
	PutLock(l Lock) error
	// PutDelivery records a webhook delivery seen; when the plan and id
	// are recorded already, the later time is kept.
	PutDelivery(d Delivery) error
	// PutSession stores a browser session as it is (ErrExists when its id
	// hash is there).
	PutSession(s Session) error
	// PutAudit stores an audit entry as it is (ErrExists when its id is
	// there), or, with newID, with a new id from the store after its own.
	PutAudit(a AuditEntry, newID bool) error
}
