package approval

import (
	"strings"
	"testing"

	"github.com/golive-dev/golive/internal/store"
)

var subj = Subject{RunID: "r1", Requester: "rita", PlanHash: "h1", Release: "1.0", Env: "prod"}

func ap(who string, d store.Decision, mods ...func(*store.Approval)) store.Approval {
	a := store.Approval{RunID: "r1", Approver: who, Decision: d, PlanHash: "h1", Release: "1.0", Env: "prod"}
	for _, m := range mods {
		m(&a)
	}
	return a
}

func TestCount(t *testing.T) {
	rules := Rules{Required: 2, Approvers: []string{"alice", "bob", "rita"}, AllowSelf: false}
	yes, no := store.DecisionApprove, store.DecisionReject
	for _, tc := range []struct {
		name      string
		all       []store.Approval
		satisfied bool
		approved  int
		ignored   string
		rejected  bool
	}{
		{"none", nil, false, 0, "", false},
		{"two approvers", []store.Approval{ap("alice", yes), ap("bob", yes)}, true, 2, "", false},
		{"duplicate approver counts once", []store.Approval{ap("alice", yes), ap("alice", yes)}, false, 1, "alice already approved", false},
		{"non-approver", []store.Approval{ap("alice", yes), ap("mallory", yes)}, false, 1, "mallory is not an approver", false},
		{"requester cannot approve", []store.Approval{ap("alice", yes), ap("rita", yes)}, false, 1, "rita requested the run and allow_self is false", false},
		{"plan changed after approval", []store.Approval{ap("alice", yes, func(a *store.Approval) { a.PlanHash = "old" }), ap("bob", yes)}, false, 1, "another version of the plan", false},
		{"other release", []store.Approval{ap("alice", yes, func(a *store.Approval) { a.Release = "0.9" }), ap("bob", yes)}, false, 1, "given for release 0.9", false},
		{"other gate is skipped", []store.Approval{ap("alice", yes, func(a *store.Approval) { a.Gate = "stage:web" }), ap("bob", yes)}, false, 1, "", false},
		{"rejection wins", []store.Approval{ap("alice", yes), ap("bob", yes), ap("alice", no)}, false, 2, "", true},
		{"requester may reject", []store.Approval{ap("rita", no)}, false, 0, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Count(rules, subj, tc.all)
			if got.Satisfied() != tc.satisfied || len(got.Approved) != tc.approved || (got.Rejected != nil) != tc.rejected {
				t.Errorf("got satisfied=%v approved=%d rejected=%v (%s)", got.Satisfied(), len(got.Approved), got.Rejected != nil, got.Summary())
			}
			if tc.ignored != "" && (len(got.Ignored) == 0 || !strings.Contains(got.Ignored[0].Why, tc.ignored)) {
				t.Errorf("ignored = %+v, want %q", got.Ignored, tc.ignored)
			}
		})
	}
}

func TestAnyoneWhenNoApprovers(t *testing.T) {
	got := Count(Rules{Required: 1, AllowSelf: true}, subj, []store.Approval{ap("rita", store.DecisionApprove)})
	if !got.Satisfied() {
		t.Fatalf("anyone (even the requester, allow_self default true) may approve: %s", got.Summary())
	}
}

func TestCheckApprover(t *testing.T) {
	rules := Rules{Required: 1, Approvers: []string{"alice", "rita"}, AllowSelf: false}
	existing := []store.Approval{ap("alice", store.DecisionApprove)}
	for who, want := range map[string]string{
		"bob":   "bob is not an approver (alice, rita)",
		"rita":  "rita requested the run and allow_self is false",
		"alice": "alice already approved this",
	} {
		err := CheckApprover(rules, subj, who, store.DecisionApprove, existing)
		if err == nil || err.Error() != want {
			t.Errorf("%s: got %v, want %q", who, err, want)
		}
	}
	if err := CheckApprover(rules, subj, "rita", store.DecisionReject, existing); err != nil {
		t.Errorf("the requester may reject: %v", err)
	}
}
