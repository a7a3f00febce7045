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
	// Authenticated: only approvals vouched for by an API token (made
	// through golive serve) count; names claimed at the CLI do not.
	Authenticated bool
}

// MustUseServer is why a CLI approval does not count under
// controls.approvals.authenticated.
const MustUseServer = "approvals must be made through golive serve (controls.approvals.authenticated is true)"

// RulesFor returns the plan's approval rules with required overridden by
// n when n > 0 (gates and sign-offs set their own number).
func RulesFor(c *plan.Approvals, n int) Rules {
	r := Rules{AllowSelf: true}
	if c != nil {
		r.Required, r.Approvers, r.Authenticated = c.Required, c.Approvers, c.Authenticated
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
	// RequesterID is who started the run with what vouches for it; when
	// empty, Requester alone is compared.
	RequesterID store.Identity
	PlanHash    string
	Release     string
	Env         string
	// Artifacts are the artifact sha256s found now; "" when not known
	// (then only PlanHash, which covers the run's, binds them).
	Artifacts store.ArtifactSums
}

// SubjectOf is what run's approvals for gate are bound to, with the plan
// hash found now.
func SubjectOf(run store.Run, planHash, gate string) Subject {
	return Subject{RunID: run.ID, Gate: gate, Requester: run.Requester, RequesterID: run.RequesterIdentity(),
		PlanHash: planHash, Release: run.Release, Env: run.Env}
}

func (s Subject) requester() store.Identity {
	if s.RequesterID.Name != "" {
		return s.RequesterID
	}
	return store.Identity{Name: s.Requester}
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
		names = append(names, a.Identity().String())
	}
	switch {
	case t.Rejected != nil:
		return fmt.Sprintf("rejected by %s%s", t.Rejected.Identity(), comment(t.Rejected.Comment))
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
		if why := counted(t.Approved, a); why != "" {
			t.Ignored = append(t.Ignored, Ignored{a, why})
			continue
		}
		t.Approved = append(t.Approved, a)
	}
	return t
}

// counted says why a is not counted again: an approval by the same person
// (the same name, or the same OS user at the CLI) is already counted.
func counted(approved []store.Approval, a store.Approval) string {
	for _, c := range approved {
		switch {
		case c.Approver == a.Approver:
			return a.Approver + " already approved"
		case store.SamePerson(c.Identity(), a.Identity()):
			return fmt.Sprintf("%s is the same person as %s, who already approved (one OS user or token counts once)", a.Identity(), c.Identity())
		}
	}
	return ""
}

// invalid says why an approval does not count, or "".
func invalid(r Rules, s Subject, a store.Approval) string {
	req := s.requester()
	switch {
	case len(r.Approvers) > 0 && !slices.Contains(r.Approvers, a.Approver):
		return fmt.Sprintf("%s is not an approver (%s)", a.Approver, strings.Join(r.Approvers, ", "))
	case r.Authenticated && a.Decision == store.DecisionApprove && !a.Identity().Authenticated():
		return fmt.Sprintf("%s approved at the CLI: %s", a.Identity(), MustUseServer)
	case !r.AllowSelf && a.Decision == store.DecisionApprove && a.Approver == req.Name:
		return fmt.Sprintf("%s requested the run and allow_self is false", a.Approver)
	case !r.AllowSelf && a.Decision == store.DecisionApprove && store.SamePerson(req, a.Identity()):
		return fmt.Sprintf("%s is the same person as the requester %s and allow_self is false", a.Identity(), req)
	case s.Artifacts.Bound() && a.Artifacts.Bound() && a.Artifacts != s.Artifacts:
		return fmt.Sprintf("given for other artifact contents (%s)", a.Artifacts.Diff(s.Artifacts))
	case a.PlanHash != s.PlanHash:
		return fmt.Sprintf("given for another version of the plan or its artifacts (hash %.12s, now %.12s)", a.PlanHash, s.PlanHash)
	case a.Release != s.Release:
		return fmt.Sprintf("given for release %s, not %s", a.Release, s.Release)
	case a.Env != s.Env:
		return fmt.Sprintf("given for environment %q, not %q", a.Env, s.Env)
	}
	return ""
}

// CheckApprover refuses, before anything is recorded, an approval that
// would not count: someone not listed, the requester (by name or OS user)
// when allow_self is false, or a person who already approved. An approval
// made at the CLI under Authenticated is not refused: it is recorded for the
// audit trail, and Count says why it does not count.
func CheckApprover(r Rules, s Subject, who store.Identity, d store.Decision, existing []store.Approval) error {
	a := store.Approval{RunID: s.RunID, Gate: s.Gate, Approver: who.Name, Via: who.Via, OSUser: who.OSUser, Token: who.Token,
		Decision: d, PlanHash: s.PlanHash, Release: s.Release, Env: s.Env, Artifacts: s.Artifacts}
	r.Authenticated = false
	if why := invalid(r, s, a); why != "" {
		return fmt.Errorf("%s", why)
	}
	if d != store.DecisionApprove {
		return nil
	}
	for _, e := range existing {
		if e.RunID != s.RunID || e.Gate != s.Gate || e.Decision != store.DecisionApprove || invalid(r, s, e) != "" {
			continue
		}
		if e.Approver == who.Name {
			return fmt.Errorf("%s already approved this", who.Name)
		}
		if store.SamePerson(e.Identity(), a.Identity()) {
			return fmt.Errorf("%s is the same person as %s, who already approved this (one OS user or token counts once)", a.Identity(), e.Identity())
		}
	}
	return nil
}
