package cli

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/golive-dev/golive/internal/release"
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
			file, err := f.planFile(args)
			if err != nil {
				return err
			}
			rep, err := e.service(&f).Review(c.Context(), release.ReviewOptions{Plan: f.planInput(file), Release: f.release,
				Ticket: f.ticket, By: e.identity(&f)})
			if err != nil {
				return err
			}
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
			return e.decide(c.Context(), &f, args[0], gate, comment, d)
		},
	}
	f.register(c, false)
	f.registerRun(c)
	c.Flags().StringVar(&gate, "gate", "", "what to decide on: run, stage:NAME or verify (default: what the run waits for)")
	c.Flags().StringVar(&comment, "comment", "", "why (recorded)")
	return c
}

func (e *env) decide(ctx context.Context, f *runFlags, id, gate, comment string, d store.Decision) error {
	res, err := e.service(f).Decide(ctx, release.DecideOptions{Run: f.runRef(id), By: e.identity(f), Gate: gate, Comment: comment}, d)
	if err != nil {
		return err
	}
	r, a := res.Run, res.Approval
	done := map[store.Decision]string{store.DecisionApprove: "approved", store.DecisionReject: "rejected"}[d]
	fmt.Fprintf(e.stdio.Out, "golive: %s %s by %s: %s\n", release.GateLabel(res.Gate, r.ID), done, a.Identity(), res.Tally.Summary())
	if d == store.DecisionApprove && len(r.Artifacts.Map()) > 0 {
		fmt.Fprintf(e.stdio.Out, "  for the artifacts run %s was created with: %s\n", r.ID, sumsLine(r.Artifacts))
	}
	if res.NotCounted != "" {
		fmt.Fprintf(e.stdio.Out, "golive: recorded, but it does not count: %s\n", res.NotCounted)
		return silent(ExitNoGo)
	}
	switch {
	case res.Cancelled:
		fmt.Fprintf(e.stdio.Out, "golive: run %s is cancelled; nothing was changed\n", r.ID)
	case d == store.DecisionReject:
		fmt.Fprintf(e.stdio.Out, "golive: run %s will be backed out: by its controller if one waits, else by `golive resume %s`\n", r.ID, r.ID)
	case res.CanGoOn:
		fmt.Fprintf(e.stdio.Out, "golive: run %s can go on: `golive resume %s`\n", r.ID, r.ID)
	}
	return nil
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
