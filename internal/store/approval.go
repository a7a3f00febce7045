package store

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
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
	Approver string // the name claimed at the CLI, or the API token's name
	Via      Via    // cli or api (filled by the store when empty)
	OSUser   string // the OS user that recorded it (filled by the store when empty)
	Token    string // the API token's name, when via api
	Decision Decision
	Comment  string
	PlanHash string
	Release  string
	Env      string
	// Artifacts are the artifact sha256s approved (the run's).
	Artifacts ArtifactSums
	Time      time.Time // set by the store when zero
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

// ArtifactSums are artifact sha256s by name, as a canonical JSON object
// (keys sorted), so that records holding them stay comparable. "" means
// not bound to artifacts (records from before golive bound them); "{}" is
// bound to no artifacts.
type ArtifactSums string

// NewArtifactSums returns the canonical form of sums (nil: "{}").
func NewArtifactSums(sums map[string]string) ArtifactSums {
	if sums == nil {
		sums = map[string]string{}
	}
	b, _ := json.Marshal(sums) // a map of strings always marshals, keys sorted
	return ArtifactSums(b)
}

// Bound reports whether the record is bound to artifact sums at all.
func (s ArtifactSums) Bound() bool { return s != "" }

// Map returns the sums by name (empty when not bound or unreadable).
func (s ArtifactSums) Map() map[string]string {
	m := map[string]string{}
	if s != "" {
		_ = json.Unmarshal([]byte(s), &m)
	}
	return m
}

// Diff describes how other differs from s, artifact by artifact, e.g.
// "app sha256 4f1c…, now 9b2e…"; "" when they are equal.
func (s ArtifactSums) Diff(other ArtifactSums) string {
	a, b := s.Map(), other.Map()
	names := map[string]bool{}
	for n := range a {
		names[n] = true
	}
	for n := range b {
		names[n] = true
	}
	sorted := make([]string, 0, len(names))
	for n := range names {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted)
	var parts []string
	for _, n := range sorted {
		switch was, now := a[n], b[n]; {
		case was == now:
		case was == "":
			parts = append(parts, fmt.Sprintf("%s is new (sha256 %.12s…)", n, now))
		case now == "":
			parts = append(parts, fmt.Sprintf("%s is gone (was sha256 %.12s…)", n, was))
		default:
			parts = append(parts, fmt.Sprintf("%s sha256 %.12s…, now %.12s…", n, was, now))
		}
	}
	return strings.Join(parts, "; ")
}
