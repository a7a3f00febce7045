package store

import (
	"context"
	"errors"
	"io"
)

// Sentinel errors. Implementations wrap them with %w; callers branch with
// errors.Is.
var (
	// ErrNotFound: the run, lock or other record does not exist.
	ErrNotFound = errors.New("not found")
	// ErrExists: a record with the same id already exists.
	ErrExists = errors.New("already exists")
	// ErrInvalid: the arguments are invalid (a missing name, an unknown state).
	ErrInvalid = errors.New("invalid")
	// ErrStateConflict: a compare-and-set on a run's state failed because the
	// run was not in any of the expected states. The error is a
	// *StateConflictError.
	ErrStateConflict = errors.New("state conflict")
	// ErrLocked: the environment lock is held by another run or holder. The
	// error is a *LockedError.
	ErrLocked = errors.New("environment locked")
)

// Store is everything golive keeps durably. It is safe for concurrent use by
// many goroutines, and (for implementations that share a database) by many
// processes.
type Store interface {
	RunStore
	Journal
	LiveStore
	LockStore
	ApprovalStore
	LeaseStore
	io.Closer
}

// RunStore keeps runs and their states.
type RunStore interface {
	// CreateRun records a new run. An empty ID is assigned with NewRunID; an
	// empty State becomes StatePending. The store sets CreatedAt, UpdatedAt,
	// StartedAt and FinishedAt (as UpdateRunState does). The initial state is
	// journaled as a KindState event (Message = Reason, Actor = Requester).
	CreateRun(ctx context.Context, r Run) (Run, error)
	// GetRun returns the run with this id, or ErrNotFound.
	GetRun(ctx context.Context, id string) (Run, error)
	// LatestRun returns the newest run of plan in env (env may be empty for a
	// plan without environments), or ErrNotFound.
	LatestRun(ctx context.Context, plan, env string) (Run, error)
	// ListRuns returns the runs matching f, newest first.
	ListRuns(ctx context.Context, f RunFilter) ([]Run, error)
	// UpdateRunState moves run id to state to, only if its current state is
	// one of from (which must not be empty). It records reason on the run,
	// sets StartedAt the first time the run enters StateRunning, sets
	// FinishedAt when to is terminal (and clears it otherwise), and appends a
	// KindState event (Action = to, Message = reason) in the same
	// transaction. It returns the updated run, ErrNotFound, or a
	// *StateConflictError holding the current state. When ctx carries a
	// lease of the run (WithLease) whose epoch is no longer the run's, it
	// changes nothing and returns a *FencedError.
	UpdateRunState(ctx context.Context, id string, from []State, to State, reason string) (Run, error)
}

// Journal is the append-only log of what happened in each run.
type Journal interface {
	// AppendEvent appends e to the journal of run e.RunID and returns the
	// sequence number the store assigned: 1 for the first event of a run, then
	// strictly increasing without gaps. e.Seq is ignored; a zero e.Time
	// becomes now; e.Output is cut to its last MaxOutput bytes. The event is
	// durable when AppendEvent returns nil. ErrNotFound if the run does not
	// exist, ErrInvalid without Kind or Action, a *FencedError when ctx
	// carries a lease of the run (WithLease) whose epoch is no longer the
	// run's.
	AppendEvent(ctx context.Context, e Event) (int64, error)
	// Events returns the events of run runID with Seq > afterSeq, in Seq
	// order (afterSeq 0 returns all). Use the last Seq seen to follow a run.
	// ErrNotFound if the run does not exist.
	Events(ctx context.Context, runID string, afterSeq int64) ([]Event, error)
}

// LiveStore records which release is live on which host.
type LiveStore interface {
	// SetLive records release as live on host for plan in env, deployed by
	// run runID (which must exist), replacing what was recorded before.
	SetLive(ctx context.Context, plan, env, host, release, runID string) error
	// DeleteLive forgets what is live on host for plan in env (after a
	// first release was backed out, nothing is). No record is no error.
	DeleteLive(ctx context.Context, plan, env, host string) error
	// Live returns the live release of every host of plan in env, keyed by
	// host. An empty map (not an error) when nothing was recorded.
	Live(ctx context.Context, plan, env string) (map[string]LiveRelease, error)
	// PreviousRelease returns the release that is live in env now, the one a
	// new run would back out to (${{ release.previous }}):
	//
	//  1. the release recorded as live on the most hosts (MajorityRelease:
	//     ties go to the release that became live most recently, then to
	//     the greater name);
	//  2. when no host has a live release, the release of the newest run of
	//     plan in env that reached StateSucceeded;
	//  3. otherwise "" (a first release), with no error.
	PreviousRelease(ctx context.Context, plan, env string) (string, error)
}

// LockStore keeps environment locks: at most one run holds the lock of a
// (plan, environment) at a time.
type LockStore interface {
	// AcquireLock takes the lock of (l.Plan, l.Env) for run l.RunID held by
	// l.Holder. It fails with a *LockedError describing the current lock when
	// the lock is held; acquiring a lock already held by the same run and
	// holder only refreshes its heartbeat. The store sets AcquiredAt and
	// HeartbeatAt. The run must exist.
	AcquireLock(ctx context.Context, l Lock) (Lock, error)
	// Heartbeat refreshes the lock held by l.RunID and l.Holder. ErrNotFound
	// when no lock is held, a *LockedError when someone else holds it (the
	// lock was stolen: stop working).
	Heartbeat(ctx context.Context, l Lock) error
	// ReleaseLock releases the lock of (plan, env) held by run runID.
	// ErrNotFound when no lock is held, a *LockedError when another run holds
	// it.
	ReleaseLock(ctx context.Context, plan, env, runID string) error
	// GetLock returns the lock of (plan, env), or ErrNotFound.
	GetLock(ctx context.Context, plan, env string) (Lock, error)
	// ListLocks returns every lock held, ordered by plan and environment.
	ListLocks(ctx context.Context) ([]Lock, error)
	// StealLock replaces the lock expected (as read with GetLock or from a
	// LockedError; matched on plan, env, run id and holder) with next, whose
	// Plan and Env must be the same. The caller decides that the expected
	// holder is gone (see HolderGone). It fails with ErrNotFound when no lock
	// is held and with a *LockedError when the lock is no longer expected, so
	// two controllers cannot both steal it.
	StealLock(ctx context.Context, expected, next Lock) (Lock, error)
}

// ApprovalStore keeps the approvals and rejections of runs.
type ApprovalStore interface {
	// AddApproval records a. The store assigns ID and Time (when zero). Empty
	// PlanHash, Release and Env are taken from the run, binding the approval
	// to what the run deploys. ErrNotFound if the run does not exist,
	// ErrInvalid without Approver or with an unknown Decision.
	AddApproval(ctx context.Context, a Approval) (Approval, error)
	// ListApprovals returns the approvals of run runID in the order they were
	// added (an empty slice when there are none), or ErrNotFound when the run
	// does not exist.
	ListApprovals(ctx context.Context, runID string) ([]Approval, error)
}
