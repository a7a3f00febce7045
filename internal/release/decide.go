package release

import (
	"context"
	"fmt"
	"strings"

	"github.com/golive-dev/golive/internal/approval"
	"github.com/golive-dev/golive/internal/engine"
	"github.com/golive-dev/golive/internal/load"
	"github.com/golive-dev/golive/internal/review"
	"github.com/golive-dev/golive/internal/store"
	"github.com/golive-dev/golive/internal/values"
)

// DecideOptions record a decision on what a run waits for.
type DecideOptions struct {
	Run RunRef
	By  store.Identity // the approver: a claimed name (cli) or a token's name (api)
	// Gate: "run", "stage:NAME" or "verify"; "" is what the run waits
	// for now.
	Gate    string
	Comment string
}

// Decision is a recorded decision and what it changed.
type Decision struct {
	Run      store.Run
	Gate     string // "" for the run itself
	Approval store.Approval
	Tally    approval.Tally
	// NotCounted: the decision was recorded but the plan's rules do not
	// count it (why).
	NotCounted string
	// Cancelled: a rejection aborted the waiting run; nothing had been
	// changed by it.
	Cancelled bool
	// CanGoOn: the approvals the run waits for are in.
	CanGoOn bool
}

// Approve records an approval of what the run waits for.
func (s *Service) Approve(ctx context.Context, o DecideOptions) (*Decision, error) {
	return s.Decide(ctx, o, store.DecisionApprove)
}

// Reject records a rejection; a waiting run is cancelled by it, a running
// one is backed out by its controller.
func (s *Service) Reject(ctx context.Context, o DecideOptions) (*Decision, error) {
	return s.Decide(ctx, o, store.DecisionReject)
}

// Confirm is the sign-off after verification: an approval of the verify
// gate.
func (s *Service) Confirm(ctx context.Context, o DecideOptions) (*Decision, error) {
	o.Gate = "verify"
	return s.Decide(ctx, o, store.DecisionApprove)
}

// Decide records d on what the run waits for, as o.By. It is refused
// (Refused) when the plan's controls.approvals do not let o.By decide; it
// is a NoGo when the plan changed since the run was created.
func (s *Service) Decide(ctx context.Context, o DecideOptions, d store.Decision) (*Decision, error) {
	if err := checkDecide(o); err != nil {
		return nil, err
	}
	st, r, _, err := s.onRunWriting(ctx, o.Run, false)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	if r.State.Terminal() {
		return nil, errorf(Conflict, "run %s is %s: there is nothing to decide", r.ID, r.State)
	}
	env := o.Run.Plan.Env
	if env == "" {
		env = r.Env
	}
	res, err := load.Load(load.Options{File: o.Run.Plan.file(), Env: env})
	if err != nil {
		return nil, err
	}
	if res.Plan == nil || res.Diags.HasErrors() {
		if s.Diags != nil {
			s.Diags(res.Diags)
		}
		return nil, &Error{Kind: Invalid, Diags: res.Diags}
	}
	set, err := s.runOverrides(ctx, st, r.ID)
	if err != nil {
		return nil, err
	}
	hash, err := planHash(o.Run.Plan.file(), set, r.Artifacts)
	if err != nil {
		return nil, err
	}
	if hash != r.PlanHash {
		return nil, errorf(NoGo, "the plan changed since run %s started (hash %.12s, now %.12s): a decision now would not count", r.ID, r.PlanHash, hash)
	}
	gate := o.Gate
	if gate == "" || gate == "run" {
		if gate, err = currentGate(ctx, st, r, gate); err != nil {
			return nil, err
		}
	}
	kind, _ := kindOf(ctx, st, r.ID)
	if kind == KindOverride && o.Gate == "" && gate == "" && res.Plan.GateApprovals("") == 0 {
		gate = GateOverride // a break-glass run with no other approvals to wait for
	}
	rules := approval.RulesFor(res.Plan.Controls.Approvals, res.Plan.GateApprovals(gate))
	if gate == GateOverride {
		switch {
		case kind != KindOverride:
			return nil, errorf(Conflict, "run %s is not a break-glass run (run --override-window): it has no override to approve", r.ID)
		case res.Plan.Controls.Override == nil:
			return nil, errorf(NoGo, "run %s: the plan has no controls.override any more: nobody may approve its break-glass", r.ID)
		}
		rules = review.OverrideRules(res.Plan.Controls.Override.Approvers)
	}
	return s.record(ctx, st, r, decision{rules: rules, subj: review.Subject(r, hash, gate), gate: gate, hash: hash, d: d, o: o})
}

type decision struct {
	rules approval.Rules
	subj  approval.Subject
	gate  string
	hash  string
	d     store.Decision
	o     DecideOptions
}

// record checks the approver and records the decision.
func (s *Service) record(ctx context.Context, st store.Store, r store.Run, dc decision) (*Decision, error) {
	id := dc.o.By
	existing, err := st.ListApprovals(ctx, r.ID)
	if err != nil {
		return nil, err
	}
	if err := approval.CheckApprover(dc.rules, dc.subj, id, dc.d, existing); err != nil {
		return nil, &Error{Kind: Refused, Msg: fmt.Sprintf("%s: not recorded: %s", r.ID, err), Err: err}
	}
	a, err := st.AddApproval(ctx, store.Approval{RunID: r.ID, Gate: dc.gate, Approver: id.Name, Via: id.Via, OSUser: id.OSUser, Token: id.Token,
		Decision: dc.d, Comment: dc.o.Comment, PlanHash: dc.hash, Release: r.Release, Env: r.Env, Artifacts: r.Artifacts})
	if err != nil {
		return nil, err
	}
	action := map[store.Decision]store.Action{store.DecisionApprove: store.ActionApproved, store.DecisionReject: store.ActionRejected}[dc.d]
	st.AppendEvent(ctx, store.Event{RunID: r.ID, Kind: store.KindApproval, Action: action, Step: dc.gate,
		Actor: id.Name, ActorVia: id.Via, ActorOSUser: id.OSUser, ActorToken: id.Token, Message: dc.o.Comment})
	out := &Decision{Run: r, Gate: dc.gate, Approval: a, Tally: approval.Count(dc.rules, dc.subj, append(existing, a))}
	for _, ig := range out.Tally.Ignored {
		if ig.Approval.ID == a.ID {
			out.NotCounted = ig.Why
			return out, nil
		}
	}
	waiting := r.State == store.StateWaiting || r.State == store.StatePending
	switch {
	case dc.d == store.DecisionReject && waiting:
		if out.Run, err = st.UpdateRunState(ctx, r.ID, []store.State{r.State}, store.StateAborted, fmt.Sprintf("rejected by %s: %s", id, dc.o.Comment)); err != nil {
			return out, err
		}
		out.Cancelled = true
	case dc.d == store.DecisionApprove && out.Tally.Satisfied() && (r.State == store.StateWaiting || r.State == store.StatePaused):
		out.CanGoOn = true
	}
	return out, nil
}

func checkDecide(o DecideOptions) error {
	var c checked
	c.runID(o.Run.ID)
	c.planInput(o.Run.Plan)
	c.identity(o.By)
	c.text("comment", o.Comment)
	if o.Gate != "" {
		c.check(values.NoControl("gate", o.Gate))
	}
	return c.err()
}

// currentGate is what the run waits for now: the last approval request
// journaled while it is paused or running, else the run itself.
func currentGate(ctx context.Context, st store.Store, r store.Run, asked string) (string, error) {
	if asked == "run" || r.State == store.StateWaiting || r.State == store.StatePending {
		return "", nil
	}
	events, err := st.Events(ctx, r.ID, 0)
	if err != nil {
		return "", err
	}
	gate, passed := "", map[string]bool{}
	for _, ev := range events {
		if ev.Kind != store.KindApproval {
			continue
		}
		switch ev.Action {
		case engine.ActionApprovalRequested:
			gate = ev.Step
		case engine.ActionGatePassed:
			passed[ev.Step] = true
		}
	}
	if gate == "" || passed[gate] {
		return "", errorf(Conflict, "run %s is %s and waits for no approval; name one with --gate", r.ID, r.State)
	}
	return gate, nil
}

// GateLabel names what a decision was on: "run R", "gate before stage S
// of run R", "sign-off of run R".
func GateLabel(gate, run string) string {
	switch {
	case gate == "":
		return "run " + run
	case gate == "verify":
		return "sign-off of run " + run
	case gate == GateOverride:
		return "break-glass override of run " + run
	case strings.HasPrefix(gate, "stage:"):
		return "gate before stage " + strings.TrimPrefix(gate, "stage:") + " of run " + run
	}
	return gate
}
