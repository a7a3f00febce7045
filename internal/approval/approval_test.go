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
		err := CheckApprover(rules, subj, store.Identity{Name: who}, store.DecisionApprove, existing)
		if err == nil || err.Error() != want {
			t.Errorf("%s: got %v, want %q", who, err, want)
		}
	}
	if err := CheckApprover(rules, subj, store.Identity{Name: "rita"}, store.DecisionReject, existing); err != nil {
		t.Errorf("the requester may reject: %v", err)
	}
}

func cli(name, osUser string) store.Identity {
	return store.Identity{Name: name, Via: store.ViaCLI, OSUser: osUser}
}

func by(id store.Identity) func(*store.Approval) {
	return func(a *store.Approval) { a.Via, a.OSUser, a.Token = id.Via, id.OSUser, id.Token }
}

// TestIdentity: a name claimed at the CLI is only a claim. The OS user
// recorded beside it decides who is the same person, and under
// authenticated only token-vouched approvals count.
func TestIdentity(t *testing.T) {
	s := subj
	s.RequesterID = cli("rita", "rita")
	yes, no := store.DecisionApprove, store.DecisionReject
	api := store.Identity{Name: "alice", Via: store.ViaAPI, OSUser: "golive", Token: "alice"}
	for _, tc := range []struct {
		name     string
		rules    Rules
		all      []store.Approval
		approved int
		ignored  string
		rejected bool
	}{
		{"requester's OS user as another name is self", Rules{Required: 1},
			[]store.Approval{ap("alice", yes, by(cli("alice", "rita")))}, 0, "alice (os user rita) is the same person as the requester rita", false},
		{"another OS user counts", Rules{Required: 1},
			[]store.Approval{ap("alice", yes, by(cli("alice", "alice")))}, 1, "", false},
		{"claiming the requester's OS user name is self", Rules{Required: 1},
			[]store.Approval{ap("bob", yes, by(cli("bob", "bob")))}, 1, "", false},
		{"one OS user counts once whatever the names", Rules{Required: 2},
			[]store.Approval{ap("alice", yes, by(cli("alice", "bob"))), ap("carol", yes, by(cli("carol", "bob")))}, 1, "is the same person as alice (os user bob)", false},
		{"API approvals of one server OS user are distinct by token", Rules{Required: 2},
			[]store.Approval{ap("alice", yes, by(api)), ap("bob", yes, by(store.Identity{Via: store.ViaAPI, OSUser: "golive", Token: "bob"}))}, 2, "", false},
		{"authenticated: CLI approvals do not count", Rules{Required: 1, Authenticated: true},
			[]store.Approval{ap("alice", yes, by(cli("alice", "alice")))}, 0, MustUseServer, false},
		{"authenticated: token approvals count", Rules{Required: 1, Authenticated: true},
			[]store.Approval{ap("alice", yes, by(api))}, 1, "", false},
		{"authenticated: a CLI rejection still stops", Rules{Required: 1, Authenticated: true},
			[]store.Approval{ap("alice", no, by(cli("alice", "alice")))}, 0, "", true},
		{"other artifact bytes", Rules{Required: 1},
			[]store.Approval{ap("alice", yes, by(cli("alice", "alice")), func(a *store.Approval) {
				a.Artifacts = store.NewArtifactSums(map[string]string{"app": "0000aaaa"})
			})}, 0, "given for other artifact contents (app sha256 0000aaaa…, now 1111bbbb…)", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := s
			s.Artifacts = store.NewArtifactSums(map[string]string{"app": "1111bbbb"})
			if tc.name == "claiming the requester's OS user name is self" {
				s.RequesterID = cli("ci", "rita")
				tc.all = []store.Approval{ap("rita", yes, by(cli("rita", "bob")))}
				tc.approved, tc.ignored = 0, "the same person as the requester ci (os user rita)"
			}
			tc.rules.AllowSelf = false
			got := Count(tc.rules, s, tc.all)
			if len(got.Approved) != tc.approved || (got.Rejected != nil) != tc.rejected {
				t.Errorf("approved=%d rejected=%v (%s), want %d", len(got.Approved), got.Rejected != nil, got.Summary(), tc.approved)
			}
			if tc.ignored != "" && (len(got.Ignored) == 0 || !strings.Contains(got.Ignored[0].Why, tc.ignored)) {
				t.Errorf("ignored = %+v, want %q", got.Ignored, tc.ignored)
			}
		})
	}
	// The CLI records an authenticated plan's approval (for the audit), and
	// refuses an approval by the requester's OS user under another name.
	r := Rules{Required: 1, Authenticated: true}
	if err := CheckApprover(r, s, cli("alice", "alice"), yes, nil); err != nil {
		t.Errorf("CheckApprover(authenticated, CLI) = %v, want recorded", err)
	}
	err := CheckApprover(Rules{Required: 1}, s, cli("alice", "rita"), yes, nil)
	if err == nil || !strings.Contains(err.Error(), "same person as the requester") {
		t.Errorf("CheckApprover(requester's OS user as alice) = %v", err)
	}
	err = CheckApprover(Rules{Required: 2, AllowSelf: true}, s, cli("carol", "bob"), yes, []store.Approval{ap("alice", yes, by(cli("alice", "bob")))})
	if err == nil || !strings.Contains(err.Error(), "already approved") {
		t.Errorf("CheckApprover(second name of one OS user) = %v", err)
	}
}
