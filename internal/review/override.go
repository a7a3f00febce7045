package review

import (
	"context"
	"fmt"
	"strings"

	"github.com/golive-dev/golive/internal/approval"
)

// GateOverride is the gate a break-glass run's approval is recorded on.
const GateOverride = "override"

// OverrideRules are the rules of a break-glass approval: one, from the
// plan's controls.override approvers, never the requester's own.
func OverrideRules(approvers []string) approval.Rules {
	return approval.Rules{Required: 1, Approvers: approvers, AllowSelf: false}
}

// alreadyLive: releasing the release that is live already changes
// nothing worth a run, unless asked to redeploy it (--force).
func (r *Report) alreadyLive(in Input) {
	ro := in.Rollout
	if in.Run != nil || ro.Previous == "" || ro.Previous != ro.Release {
		return
	}
	where := "in " + in.Plan.Env
	if in.Plan.Env == "" {
		where = "(plan " + in.Plan.Name + ")"
	}
	if in.Redeploy {
		r.add(Item{Kind: "live", Name: "redeploy", OK: true, Detail: fmt.Sprintf("release %s is already live %s: --force redeploys it", ro.Release, where)})
		return
	}
	r.add(Item{Kind: "live", Name: "release not live yet", Detail: fmt.Sprintf("release %s is already live %s: nothing to release (--force redeploys it)", ro.Release, where)})
}

// override: a break-glass run needs the plan's controls.override and one
// approval from its approvers by someone other than the requester.
func (r *Report) override(ctx context.Context, in Input) {
	if in.Override == "" {
		return
	}
	o := in.Plan.Controls.Override
	if o == nil {
		r.add(Item{Kind: "override", Name: "break-glass", Detail: "--override-window: the plan has no controls.override: it allows no release outside its window"})
		return
	}
	by := in.Requester
	if in.Run != nil {
		by = in.Run.RequesterIdentity().String()
	}
	r.Override = fmt.Sprintf("BREAK-GLASS: release window overridden by %s: %s", by, in.Override)
	who := strings.Join(o.Approvers, ", ")
	if in.Run == nil {
		r.add(Item{Kind: "override", Name: "break-glass approval", Waitable: true,
			Detail: fmt.Sprintf("0/1 from %s (not the requester): a run records what it waits for; approve it with `golive approve RUN --gate override`", who)})
		return
	}
	all, err := in.Store.ListApprovals(ctx, in.Run.ID)
	if err != nil {
		r.add(Item{Kind: "override", Name: "break-glass approval", Detail: err.Error()})
		return
	}
	subj := Subject(*in.Run, in.PlanHash, GateOverride)
	if in.Run.Artifacts.Bound() {
		subj.Artifacts = Sums(in.Artifacts)
	}
	t := approval.Count(OverrideRules(o.Approvers), subj, all)
	it := Item{Kind: "override", Name: "break-glass approval", OK: t.Satisfied(), Detail: t.Summary() + " from " + who, Waitable: t.Rejected == nil}
	for _, ig := range t.Ignored {
		it.Detail += fmt.Sprintf("; not counted: %s (%s)", ig.Approval.Approver, ig.Why)
	}
	r.add(it)
}
