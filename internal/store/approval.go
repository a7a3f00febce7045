package store

import (
	"fmt"
	"time"
)

// Decision is an approver's answer.
type Decision string

// Decisions.
const (
	DecisionApprove Decision = "approve"
	DecisionReject  Decision = "reject"
)

// Approval is one approver's decision on a run. It is bound to the plan
// content hash, the release and the environment it was given for; when the
// run's differ, it no longer counts (the engine decides that).
type Approval struct {
	ID       int64 // assigned by the store, increasing
	RunID    string
	Gate     string // what is approved: "" for the run itself, else e.g. "stage:web" or "verify"
	Approver string
	Decision Decision
	Comment  string
	PlanHash string
	Release  string
	Env      string
	Time     time.Time // set by the store when zero
}

// Validate checks the fields a caller must set before AddApproval.
func (a Approval) Validate() error {
	switch {
	case a.RunID == "":
		return fmt.Errorf("approval: run id is empty: %w", ErrInvalid)
	case a.Approver == "":
		return fmt.Errorf("approval: approver is empty: %w", ErrInvalid)
	case a.Decision != DecisionApprove && a.Decision != DecisionReject:
		return fmt.Errorf("approval: unknown decision %q: %w", a.Decision, ErrInvalid)
	}
	return nil
}
