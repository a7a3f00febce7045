package approval

import (
	"strings"
	"testing"

	"github.com/golive-dev/golive/internal/plan"
	"github.com/golive-dev/golive/internal/store"
)

// TestApprovalForAnotherEnvironmentDoesNotCount: an approval bound to
// another environment is ignored, and CheckApprover refuses to record
// one.
func TestApprovalForAnotherEnvironmentDoesNotCount(t *testing.T) {
	rules := Rules{Required: 1, AllowSelf: true}
	other := ap("alice", store.DecisionApprove, func(a *store.Approval) { a.Env = "staging" })
	got := Count(rules, subj, []store.Approval{other})
	if got.Satisfied() || len(got.Approved) != 0 {
		t.Fatalf("an approval for staging counted for prod: %s", got.Summary())
	}
	if len(got.Ignored) != 1 || got.Ignored[0].Why != `given for environment "staging", not "prod"` {
		t.Fatalf("ignored = %+v", got.Ignored)
	}
	rej := ap("bob", store.DecisionReject, func(a *store.Approval) { a.Env = "staging" })
	if got := Count(rules, subj, []store.Approval{rej, ap("alice", store.DecisionApprove)}); got.Rejected != nil || !got.Satisfied() {
		t.Fatalf("a rejection for staging counted for prod: %s", got.Summary())
	}
	s := subj
	s.Env = "staging"
	if err := CheckApprover(rules, s, store.CLIIdentity("alice"), store.DecisionApprove, nil); err != nil {
		t.Fatalf("CheckApprover for its own environment: %v", err)
	}
}

// TestSummary: the words a person reads for each state of a tally.
func TestSummary(t *testing.T) {
	rules := Rules{Required: 2, AllowSelf: true}
	yes, no := store.DecisionApprove, store.DecisionReject
	for _, tc := range []struct {
		all     []store.Approval
		want    string
		missing int
	}{
		{nil, "0/2 approvals; 2 needed", 2},
		{[]store.Approval{ap("alice", yes)}, "1/2 approvals (alice); 1 more needed", 1},
		{[]store.Approval{ap("alice", yes), ap("bob", yes)}, "2/2 approvals (alice, bob)", 0},
		{[]store.Approval{ap("alice", yes), ap("bob", yes), ap("carol", yes)}, "3/2 approvals (alice, bob, carol)", 0},
		{[]store.Approval{ap("bob", no, func(a *store.Approval) { a.Comment = "not today" })}, "rejected by bob: not today", 2},
		{[]store.Approval{ap("bob", no)}, "rejected by bob", 2},
	} {
		got := Count(rules, subj, tc.all)
		if got.Summary() != tc.want || got.Missing() != tc.missing {
			t.Errorf("Summary = %q, Missing = %d; want %q, %d", got.Summary(), got.Missing(), tc.want, tc.missing)
		}
	}
}

// TestRulesFor: the plan's rules, with a gate's own number overriding
// required, and allow_self true unless the plan says false.
func TestRulesFor(t *testing.T) {
	if r := RulesFor(nil, 0); r.Required != 0 || !r.AllowSelf || r.Approvers != nil {
		t.Errorf("RulesFor(nil, 0) = %+v", r)
	}
	no := false
	c := &plan.Approvals{Required: 2, Approvers: []string{"alice"}, AllowSelf: &no}
	if r := RulesFor(c, 0); r.Required != 2 || r.AllowSelf || strings.Join(r.Approvers, ",") != "alice" {
		t.Errorf("RulesFor(plan, 0) = %+v", r)
	}
	if r := RulesFor(c, 3); r.Required != 3 {
		t.Errorf("RulesFor(plan, 3).Required = %d, want 3", r.Required)
	}
	if r := RulesFor(&plan.Approvals{Required: 1}, 0); !r.AllowSelf {
		t.Errorf("allow_self unset must default to true")
	}
}
