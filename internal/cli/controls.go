package cli

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/golive-dev/golive/internal/approval"
	"github.com/golive-dev/golive/internal/engine"
	"github.com/golive-dev/golive/internal/load"
	"github.com/golive-dev/golive/internal/review"
	"github.com/golive-dev/golive/internal/store"
)

func newReview(e *env) *cobra.Command {
	var f runFlags
	c := &cobra.Command{
		Use:   "review [FILE] -r VERSION",
		Short: "Answer go or no-go for a release, changing nothing anywhere",
		Long: `Review checks, without changing anything: the plan, its targets, the
artifacts and their sha256, every preflight check on every target it names,
the release window and freezes, the release controls (ticket, approvals,
backout coverage, rehearsal) and the environment lock. It prints one line per
item, then GO or NO-GO and the reasons. Exit 0 for go, 3 for no-go.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if f.release == "" {
				return fmt.Errorf("%w: review needs the release: -r VERSION", errUsage)
			}
			ctx := c.Context()
			pr, err := e.prepare(ctx, &f, args, f.release, "", false, "")
			if err != nil {
				return err
			}
			defer pr.st.Close()
			rep := e.reviewRun(ctx, pr, e.newEngine(pr, &f, nil), &f, nil, false)
			if f.json {
				if err := e.printJSON(rep); err != nil {
					return err
				}
			} else {
				e.renderReview(e.stdio.Out, rep)
			}
			if !rep.Go {
				return silent(ExitNoGo)
			}
			return nil
		},
	}
	f.register(c, true)
	f.registerRun(c)
	f.registerSSH(c)
	c.Flags().StringVar(&f.ticket, "ticket", "", "change ticket id")
	c.Flags().BoolVar(&f.json, "json", false, "print the report as JSON")
	return c
}

func newApprove(e *env, d store.Decision) *cobra.Command {
	var f runFlags
	var gate, comment string
	verb := map[store.Decision]string{store.DecisionApprove: "approve", store.DecisionReject: "reject"}[d]
	c := &cobra.Command{
		Use:   verb + " RUN",
		Short: map[store.Decision]string{store.DecisionApprove: "Approve a run, a gate or a sign-off", store.DecisionReject: "Reject a run, a gate or a sign-off"}[d],
		Long: `Records your decision on what RUN waits for: the run itself, the gate before
a stage, or the sign-off after verification (--gate run|stage:NAME|verify picks
one; by default the one the run waits for now). Who you are: --as, else
$GOLIVE_USER, else the OS user. Only listed approvers count; with allow_self:
false the requester's approval does not; each approver counts once; an
approval is bound to the plan's content, the release and the environment.`,
		Args: exactArgs(1, "RUN"),
		RunE: func(c *cobra.Command, args []string) error {
			ctx := c.Context()
			st, r, err := e.onRun(ctx, &f, args[0])
			if err != nil {
				return err
			}
			defer st.Close()
			return e.decide(ctx, st, r, &f, gate, comment, d)
		},
	}
	f.register(c, false)
	f.registerRun(c)
	c.Flags().StringVar(&gate, "gate", "", "what to decide on: run, stage:NAME or verify (default: what the run waits for)")
	c.Flags().StringVar(&comment, "comment", "", "why (recorded)")
	return c
}

func (e *env) decide(ctx context.Context, st store.Store, r store.Run, f *runFlags, gate, comment string, d store.Decision) error {
	if r.State.Terminal() {
		return withCode(ExitUsage, "run %s is %s: there is nothing to decide", r.ID, r.State)
	}
	file, err := f.planFile(nil)
	if err != nil {
		return err
	}
	if f.env == "" {
		f.env = r.Env
	}
	res, err := load.Load(load.Options{File: file, Env: f.env})
	if err != nil {
		return err
	}
	if res.Plan == nil || res.Diags.HasErrors() {
		e.printDiags(res.Diags)
		return silent(ExitUsage)
	}
	set, err := e.runOverrides(ctx, st, r.ID, &f.planFlags)
	if err != nil {
		return err
	}
	hash, err := planHash(file, set, r.Artifacts)
	if err != nil {
		return err
	}
	if hash != r.PlanHash {
		return withCode(ExitNoGo, "the plan changed since run %s started (hash %.12s, now %.12s): a decision now would not count", r.ID, r.PlanHash, hash)
	}
	if gate == "" || gate == "run" {
		gate, err = currentGate(ctx, st, r, gate)
		if err != nil {
			return err
		}
	}
	id := store.CLIIdentity(e.actor(f.as))
	who := id.Name
	rules := approval.RulesFor(res.Plan.Controls.Approvals, gateRequired(res.Plan, gate))
	subj := review.Subject(r, hash, gate)
	existing, err := st.ListApprovals(ctx, r.ID)
	if err != nil {
		return err
	}
	if err := approval.CheckApprover(rules, subj, id, d, existing); err != nil {
		return withCode(ExitUsage, "%s: not recorded: %s", r.ID, err)
	}
	a, err := st.AddApproval(ctx, store.Approval{RunID: r.ID, Gate: gate, Approver: who, Via: id.Via, OSUser: id.OSUser,
		Decision: d, Comment: comment, PlanHash: hash, Release: r.Release, Env: r.Env, Artifacts: r.Artifacts})
	if err != nil {
		return err
	}
	action := map[store.Decision]store.Action{store.DecisionApprove: store.ActionApproved, store.DecisionReject: store.ActionRejected}[d]
	st.AppendEvent(ctx, store.Event{RunID: r.ID, Kind: store.KindApproval, Action: action, Step: gate,
		Actor: who, ActorVia: id.Via, ActorOSUser: id.OSUser, Message: comment})
	t := approval.Count(rules, subj, append(existing, a))
	done := map[store.Decision]string{store.DecisionApprove: "approved", store.DecisionReject: "rejected"}[d]
	fmt.Fprintf(e.stdio.Out, "golive: %s %s by %s: %s\n", gateLabel(gate, r.ID), done, id, t.Summary())
	if d == store.DecisionApprove && len(r.Artifacts.Map()) > 0 {
		fmt.Fprintf(e.stdio.Out, "  for the artifacts run %s was created with: %s\n", r.ID, sumsLine(r.Artifacts))
	}
	for _, ig := range t.Ignored {
		if ig.Approval.ID == a.ID {
			fmt.Fprintf(e.stdio.Out, "golive: recorded, but it does not count: %s\n", ig.Why)
			return silent(ExitNoGo)
		}
	}
	return e.afterDecision(ctx, st, r, d, id.String(), comment, t)
}

// sumsLine lists artifact sha256s: "app 4f1c2a9e0b7d…, src:x 9b2e…".
func sumsLine(s store.ArtifactSums) string {
	m := s.Map()
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	var parts []string
	for _, n := range names {
		parts = append(parts, fmt.Sprintf("%s sha256 %.16s…", n, m[n]))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// afterDecision says what happens next, and cancels a waiting run that
// was rejected.
func (e *env) afterDecision(ctx context.Context, st store.Store, r store.Run, d store.Decision, who, comment string, t approval.Tally) error {
	switch {
	case d == store.DecisionReject && (r.State == store.StateWaiting || r.State == store.StatePending):
		if _, err := st.UpdateRunState(ctx, r.ID, []store.State{r.State}, store.StateAborted, fmt.Sprintf("rejected by %s: %s", who, comment)); err != nil {
			return err
		}
		fmt.Fprintf(e.stdio.Out, "golive: run %s is cancelled; nothing was changed\n", r.ID)
	case d == store.DecisionReject:
		fmt.Fprintf(e.stdio.Out, "golive: run %s will be backed out: by its controller if one waits, else by `golive resume %s`\n", r.ID, r.ID)
	case t.Satisfied() && (r.State == store.StateWaiting || r.State == store.StatePaused):
		fmt.Fprintf(e.stdio.Out, "golive: run %s can go on: `golive resume %s`\n", r.ID, r.ID)
	}
	return nil
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
		return "", withCode(ExitUsage, "run %s is %s and waits for no approval; name one with --gate", r.ID, r.State)
	}
	return gate, nil
}

func gateRequired(p interface{ GateApprovals(string) int }, gate string) int {
	return p.GateApprovals(gate)
}

func gateLabel(gate, run string) string {
	switch {
	case gate == "":
		return "run " + run
	case gate == "verify":
		return "sign-off of run " + run
	case strings.HasPrefix(gate, "stage:"):
		return "gate before stage " + strings.TrimPrefix(gate, "stage:") + " of run " + run
	}
	return gate
}
