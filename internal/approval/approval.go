// Package approval decides which approvals count: the rules of
// controls.approvals (required, approvers, allow_self) applied to a run's
// recorded approvals and rejections, each bound to the plan content hash,
// the release and the environment it was given for. It is pure: the store
// keeps approvals, this package only judges them.
package approval

import (
	"fmt"
	"slices"
	"strings"

	"github.com/golive-dev/golive/internal/plan"
	"github.com/golive-dev/golive/internal/store"
)

// Rules are who may approve and how many must.
type Rules struct {
	Required  int
	Approvers []string // empty: anyone
	AllowSelf bool
}

// RulesFor returns the plan's approval rules with required overridden by
// n when n > 0 (gates and sign-offs set their own number).
func RulesFor(c *plan.Approvals, n int) Rules {
	r := Rules{AllowSelf: true}
	if c != nil {
		r.Required, r.Approvers = c.Required, c.Approvers
		if c.AllowSelf != nil {
			r.AllowSelf = *c.AllowSelf
		}
	}
	if n > 0 {
		r.Required = n
	}
	return r
}

// Subject is what approvals are given for.
type Subject struct {
	RunID     string
	Gate      string // "" for the run, "stage:NAME" for a gate, "verify" for the sign-off
	Requester string
	PlanHash  string
	Release   string
	Env       string
}

// Ignored is an approval that does not count, and why.
type Ignored struct {
	Approval store.Approval
	Why      string
}

// Tally is the judgement of a subject's approvals.
type Tally struct {
	Required int
	Approved []store.Approval // counted: one per approver
	Rejected *store.Approval  // a valid rejection, if any
	Ignored  []Ignored
}

// Satisfied reports whether enough valid approvals and no valid rejection
// were given.
func (t Tally) Satisfied() bool { return t.Rejected == nil && len(t.Approved) >= t.Required }

// Missing is how many more approvals are needed.
func (t Tally) Missing() int { return max(t.Required-len(t.Approved), 0) }

// Summary says in a few words where the subject stands.
func (t Tally) Summary() string {
	var names []string
	for _, a := range t.Approved {
		names = append(names, a.Approver)
	}
	switch {
	case t.Rejected != nil:
		return fmt.Sprintf("rejected by %s%s", t.Rejected.Approver, comment(t.Rejected.Comment))
	case t.Satisfied():
		return fmt.Sprintf("%d/%d approvals (%s)", len(t.Approved), t.Required, strings.Join(names, ", "))
	case len(names) > 0:
		return fmt.Sprintf("%d/%d approvals (%s); %d more needed", len(t.Approved), t.Required, strings.Join(names, ", "), t.Missing())
	}
	return fmt.Sprintf("0/%d approvals; %d needed", t.Required, t.Missing())
}

func comment(c string) string {
	if c == "" {
		return ""
	}
	return ": " + c
}

// Count judges the approvals of a subject (all may hold other subjects'
// approvals too; they are skipped).
func Count(r Rules, s Subject, all []store.Approval) Tally {
	t := Tally{Required: r.Required}
	seen := map[string]bool{}
	for _, a := range all {
		if a.RunID != s.RunID || a.Gate != s.Gate {
			continue
		}
		if why := invalid(r, s, a); why != "" {
			t.Ignored = append(t.Ignored, Ignored{a, why})
			continue
		}
		if a.Decision == store.DecisionReject {
			if t.Rejected == nil {
				rej := a
				t.Rejected = &rej
			}
			continue
		}
		if seen[a.Approver] {
			t.Ignored = append(t.Ignored, Ignored{a, a.Approver + " already approved"})
			continue
		}
		seen[a.Approver] = true
		t.Approved = append(t.Approved, a)
	}
	return t
}

// invalid says why an approval does not count, or "".
func invalid(r Rules, s Subject, a store.Approval) string {
	switch {
	case len(r.Approvers) > 0 && !slices.Contains(r.Approvers, a.Approver):
		return fmt.Sprintf("%s is not an approver (%s)", a.Approver, strings.Join(r.Approvers, ", "))
	case !r.AllowSelf && a.Approver == s.Requester && a.Decision == store.DecisionApprove:
		return fmt.Sprintf("%s requested the run and allow_self is false", a.Approver)
	case a.PlanHash != s.PlanHash:
		return fmt.Sprintf("given for another version of the plan (hash %.12s, now %.12s)", a.PlanHash, s.PlanHash)
	case a.Release != s.Release:
		return fmt.Sprintf("given for release %s, not %s", a.Release, s.Release)
	case a.Env != s.Env:
		return fmt.Sprintf("given for environment %q, not %q", a.Env, s.Env)
	}
	return ""
}

// CheckApprover refuses, before anything is recorded, an approval that
// would not count: someone not listed, the requester when allow_self is
// false, or an approver who already approved.
func CheckApprover(r Rules, s Subject, who string, d store.Decision, existing []store.Approval) error {
	a := store.Approval{RunID: s.RunID, Gate: s.Gate, Approver: who, Decision: d, PlanHash: s.PlanHash, Release: s.Release, Env: s.Env}
	if why := invalid(r, s, a); why != "" {
		return fmt.Errorf("%s", why)
	}
	if d != store.DecisionApprove {
		return nil
	}
	for _, e := range existing {
		if e.RunID == s.RunID && e.Gate == s.Gate && e.Approver == who && e.Decision == store.DecisionApprove && invalid(r, s, e) == "" {
			return fmt.Errorf("%s already approved this", who)
		}
	}
	return nil
}
