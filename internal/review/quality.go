package review

import (
	"context"
	"fmt"
	"strings"

	"github.com/golive-dev/golive/internal/plan"
)

// KindQuality is the kind of the plan-quality items: the practice's
// deployment-plan checklist, checked against the plan (and, for the
// rehearsal, the store).
const KindQuality = "quality"

// ChecklistRequired is the value of controls.checklist that makes each
// missing checklist item a no-go.
const ChecklistRequired = "required"

// quality fills the report's plan-quality section: is this a plan worth
// executing? Each item the plan misses is a warning, or, under
// controls.checklist: required, a no-go (decide).
func (r *Report) quality(ctx context.Context, in Input) {
	p := in.Plan
	r.ChecklistRequired = p.Controls.Checklist == ChecklistRequired
	add := func(name string, ok bool, detail string) {
		r.Quality = append(r.Quality, Item{Kind: KindQuality, Name: name, OK: ok, Detail: detail})
	}
	if p.Owner != "" {
		add("owner", true, p.Owner)
	} else {
		add("owner", false, "no owner: name the team that owns the release (owner:)")
	}
	if len(p.Contacts) > 0 {
		add("contacts and escalation", true, strings.Join(p.Contacts, ", "))
	} else {
		add("contacts and escalation", false, "no contacts: whom to call and escalate to when it goes wrong (contacts:)")
	}
	add(successCriteria(p))
	add(backouts(p))
	ok, detail := rehearsedAnywhere(ctx, in)
	add("backout rehearsed for this release", ok, detail)
	add(approvalAuthority(p))
	if w := p.Window; w != nil && len(w.Open) > 0 {
		tz := w.Timezone
		if tz == "" {
			tz = "UTC"
		}
		add("window", true, fmt.Sprintf("%d open range(s), %s", len(w.Open), tz))
	} else {
		add("window", false, "no release window: the plan may start at any time (window.open)")
	}
}

func successCriteria(p *plan.Plan) (string, bool, string) {
	const name = "success criteria and verify checks"
	checks := 0
	for _, c := range p.Verify {
		if c.Confirm == nil {
			checks++
		}
	}
	var missing []string
	if p.SuccessCriteria == "" {
		missing = append(missing, "no success_criteria: how will you know it worked?")
	}
	if checks == 0 {
		missing = append(missing, "no automated verify check (run, http or tcp)")
	}
	if len(missing) > 0 {
		return name, false, strings.Join(missing, "; ")
	}
	return name, true, fmt.Sprintf("%d verify check(s); %s", checks, p.SuccessCriteria)
}

func backouts(p *plan.Plan) (string, bool, string) {
	const name = "every change has a backout"
	var missing []string
	for _, s := range p.Stages {
		for _, st := range s.Steps {
			if st.ChangesTarget() && st.Backout == "" {
				missing = append(missing, s.Name+"/"+st.Name)
			}
		}
	}
	if len(missing) > 0 {
		return name, false, "no backout: " + strings.Join(missing, ", ")
	}
	return name, true, "every step that changes a target declares one"
}

// rehearsedAnywhere: a clean rehearsal of this release with this plan, in
// controls.rehearsed_in, or, without it, in any of the plan's
// environments (the one environment of a plan without any).
func rehearsedAnywhere(ctx context.Context, in Input) (bool, string) {
	p := in.Plan
	envs := p.Environments.Names()
	switch {
	case p.Controls.RehearsedIn != "" && p.Controls.RehearsedIn == p.Env:
		return true, "this is the rehearsal environment (controls.rehearsed_in)"
	case p.Controls.RehearsedIn != "":
		envs = []string{p.Controls.RehearsedIn}
	case len(envs) == 0:
		envs = []string{""}
	}
	if in.Store == nil {
		return false, "no store to look for a rehearsal in"
	}
	for _, env := range envs {
		ok, detail, err := Rehearsed(ctx, in.Store, p.Name, env, in.Rollout.Release, in.PlanHash)
		if err != nil {
			return false, err.Error()
		}
		if ok {
			return true, strings.Replace(detail, " in  and", " and", 1) // a plan without environments
		}
	}
	where := ""
	if len(envs) == 1 && envs[0] != "" {
		where = " --env " + envs[0]
	}
	return false, fmt.Sprintf("no clean rehearsal of %s with this plan: run `golive rehearse -r %s%s`", in.Rollout.Release, in.Rollout.Release, where)
}

func approvalAuthority(p *plan.Plan) (string, bool, string) {
	const name = "approval authority"
	a := p.Controls.Approvals
	switch {
	case a == nil || a.Required == 0:
		return name, false, "no approval required: name who may approve the release (controls.approvals: {required, approvers})"
	case len(a.Approvers) == 0:
		return name, false, fmt.Sprintf("%d approval(s) from anyone: name who may approve (controls.approvals.approvers)", a.Required)
	}
	return name, true, fmt.Sprintf("%d approval(s) from %s", a.Required, strings.Join(a.Approvers, ", "))
}

// decideQuality adds the checklist's verdict: warnings, or no-go reasons
// under controls.checklist: required.
func (r *Report) decideQuality() {
	r.Warnings = nil
	for _, it := range r.Quality {
		if it.OK {
			continue
		}
		reason := fmt.Sprintf("plan quality: %s: %s", it.Name, it.Detail)
		if !r.ChecklistRequired {
			r.Warnings = append(r.Warnings, reason)
			continue
		}
		r.Go, r.WaitOnly = false, false
		r.Reasons = append(r.Reasons, reason)
	}
}
