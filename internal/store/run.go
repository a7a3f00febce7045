package store

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"time"
)

// State is the state of a run.
type State string

// Run states.
const (
	StatePending       State = "pending"        // created, not reviewed yet
	StateWaiting       State = "waiting"        // waiting for approvals or the window
	StateRunning       State = "running"        // changing targets
	StatePaused        State = "paused"         // stopped by an operator or a closed window
	StateVerifying     State = "verifying"      // all stages done, running verify
	StateSucceeded     State = "succeeded"      // verified and recorded live
	StateFailed        State = "failed"         // failed, not (yet) backed out
	StateBackingOut    State = "backing_out"    // backout in progress
	StateBackedOut     State = "backed_out"     // backed out cleanly
	StateBackoutFailed State = "backout_failed" // backout incomplete: targets need attention
	StateAborted       State = "aborted"        // cancelled before changing anything
)

// States lists every run state.
var States = []State{
	StatePending, StateWaiting, StateRunning, StatePaused, StateVerifying,
	StateSucceeded, StateFailed, StateBackingOut, StateBackedOut,
	StateBackoutFailed, StateAborted,
}

// Valid reports whether s is a known state.
func (s State) Valid() bool { return slices.Contains(States, s) }

// Terminal reports whether no controller works on a run in state s: the run
// is over unless an operator acts on it (for example `golive backout` on a
// failed run).
func (s State) Terminal() bool {
	switch s {
	case StateSucceeded, StateFailed, StateBackedOut, StateBackoutFailed, StateAborted:
		return true
	}
	return false
}

// Run is one execution of a plan for one release into one environment.
type Run struct {
	ID              string
	Plan            string // plan name
	Env             string // environment; empty for a plan without environments
	Release         string
	PreviousRelease string // the release live before this run; empty on a first release
	Requester       string // who started the run (the name they claimed, or a token's name)
	RequesterVia    Via    // how: cli or api (filled by the store when empty)
	RequesterOSUser string // the OS user that started it (filled by the store when empty)
	RequesterToken  string // the API token's name, when via api
	Ticket          string // change ticket
	PlanHash        string // hash of the plan's content, --set overrides and Artifacts; approvals are bound to it
	// Artifacts are the sha256s of the artifacts (and upload src files) the
	// run was created with; a run is bound to these bytes. Empty for runs
	// recorded before golive bound runs to artifacts.
	Artifacts  ArtifactSums
	State      State
	Reason     string    // why the run entered State
	CreatedAt  time.Time // set by the store
	UpdatedAt  time.Time // last state change, set by the store
	StartedAt  time.Time // first entered StateRunning; zero before
	FinishedAt time.Time // entered a terminal state; zero otherwise
}

// RunFilter selects runs for ListRuns. Empty fields match everything.
type RunFilter struct {
	Plan   string
	Env    string
	States []State // any of these states
	Limit  int     // at most this many runs; 0 means no limit
}

// NewRunID returns a new run id such as "r-20261126-021530-ab12": the UTC
// time to the second, then 4 random hex digits. Ids of runs created in
// different seconds sort by time. Stores retry with a new id on the rare
// collision.
func NewRunID(now time.Time) string {
	var b [2]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("store: crypto/rand: %v", err)) // never fails on supported platforms
	}
	return "r-" + now.UTC().Format("20060102-150405") + "-" + hex.EncodeToString(b[:])
}

// Validate checks the fields a caller must set before CreateRun.
func (r Run) Validate() error {
	switch {
	case r.Plan == "":
		return fmt.Errorf("run: plan name is empty: %w", ErrInvalid)
	case r.Release == "":
		return fmt.Errorf("run: release is empty: %w", ErrInvalid)
	case r.State != "" && !r.State.Valid():
		return fmt.Errorf("run: unknown state %q: %w", r.State, ErrInvalid)
	}
	return nil
}

// StateConflictError reports a failed compare-and-set of a run's state. It
// matches ErrStateConflict with errors.Is.
type StateConflictError struct {
	RunID   string
	Current State   // the run's state when the update was tried
	From    []State // the states the caller expected
	To      State
}

func (e *StateConflictError) Error() string {
	return fmt.Sprintf("run %s: cannot move to %s: state is %s, expected one of %v",
		e.RunID, e.To, e.Current, e.From)
}

// Is makes errors.Is(err, ErrStateConflict) true.
func (e *StateConflictError) Is(target error) bool { return target == ErrStateConflict }

// CheckTransition validates the arguments of UpdateRunState.
func CheckTransition(from []State, to State) error {
	if len(from) == 0 {
		return fmt.Errorf("run state: no expected states: %w", ErrInvalid)
	}
	for _, s := range append(slices.Clip(from), to) {
		if !s.Valid() {
			return fmt.Errorf("run state: unknown state %q: %w", s, ErrInvalid)
		}
	}
	return nil
}
