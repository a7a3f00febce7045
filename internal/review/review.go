package review

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"time"

	"github.com/golive-dev/golive/internal/approval"
	"github.com/golive-dev/golive/internal/artifact"
	"github.com/golive-dev/golive/internal/check"
	"github.com/golive-dev/golive/internal/plan"
	"github.com/golive-dev/golive/internal/rollout"
	"github.com/golive-dev/golive/internal/store"
)

// Item is one thing the review checked.
type Item struct {
	Kind   string `json:"kind"` // plan, targets, artifact, preflight, window, ticket, approvals, backout, rehearsal, lock
	Name   string `json:"name"`
	Host   string `json:"host,omitempty"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
	// Waitable: not a reason to refuse, only to wait (approvals, window).
	Waitable bool `json:"waitable,omitempty"`
	// Facts and drift: what was found beside what was wanted (facts.go,
	// drift.go); Unknown when it could not be determined.
	Found   string `json:"found,omitempty"`
	Want    string `json:"want,omitempty"`
	Unknown bool   `json:"unknown,omitempty"`
	// Drift: the run that recorded the release live on Host.
	RecordedBy string `json:"recorded_by,omitempty"`
}

// Report is the go/no-go.
type Report struct {
	Plan     string     `json:"plan"`
	Env      string     `json:"environment,omitempty"`
	Release  string     `json:"release"`
	Items    []Item     `json:"items"`
	Go       bool       `json:"go"`
	Reasons  []string   `json:"reasons,omitempty"`
	WaitOnly bool       `json:"wait_only,omitempty"` // every failure can arrive later
	NextOpen *time.Time `json:"next_open,omitempty"` // when the window opens, if it is closed
	// Quality is the plan-quality section, the deployment-plan checklist
	// (quality.go): what it misses are Warnings, or, when
	// ChecklistRequired, Reasons for a no-go.
	Quality           []Item   `json:"plan_quality,omitempty"`
	ChecklistRequired bool     `json:"checklist_required,omitempty"`
	Warnings          []string `json:"warnings,omitempty"`
}

// Input is what a review looks at.
type Input struct {
	Plan    *plan.Plan
	Rollout *rollout.Rollout
	Store   store.Store
	Engine  Prober // runs the preflight checks and dials the targets
	// Dialer reaches the targets for the fact probes and targets.current
	// (facts.go); nil skips them.
	Dialer    *check.Dialer
	Parallel  int // hosts probed at the same time (default 50)
	Artifacts map[string]artifact.File
	ArtErr    error // from artifact.Verify
	Ticket    string
	Requester string
	PlanHash  string
	Now       time.Time
	Run       *store.Run // the run being reviewed, if it exists (for its approvals)
	SkipLock  bool       // the run itself holds the lock
	// Redact hides secret values (redact.Redactor.String). Every text of
	// the report passes through it before the report is returned, so what
	// prints, encodes or sends a report (terminal, --json, webhooks, the
	// reason a waiting run records) never sees a secret. nil: unchanged.
	Redact func(string) string
}

// Prober runs the review's preflight checks and dials its targets,
// changing nothing (the engine does, in read-only executions).
type Prober interface {
	Reach(ctx context.Context, ro *rollout.Rollout) map[string]error
	Preflight(ctx context.Context, ro *rollout.Rollout) []check.PreflightResult
}

// Review checks everything and returns the report. It changes nothing.
func Review(ctx context.Context, in Input) *Report {
	r := &Report{Plan: in.Plan.Name, Env: in.Plan.Env, Release: in.Rollout.Release}
	r.add(Item{Kind: "plan", Name: "plan is valid", OK: true, Detail: in.Plan.File})
	r.targets(in)
	r.reach(ctx, in)
	r.artifacts(in)
	r.preflight(ctx, in)
	r.probeHosts(ctx, in)
	r.window(in)
	r.ticket(in)
	r.approvals(ctx, in)
	r.backout(in)
	r.backoutVerify(in)
	r.rehearsal(ctx, in)
	r.monitors(ctx, in)
	r.lock(ctx, in)
	r.quality(ctx, in)
	r.redact(in.Redact)
	r.decide()
	return r
}

// redact hides secrets in every text of the items; decide then derives the
// reasons from the redacted items.
func (r *Report) redact(fn func(string) string) {
	if fn == nil {
		return
	}
	for i := range r.Items {
		it := &r.Items[i]
		it.Name, it.Host, it.Detail = fn(it.Name), fn(it.Host), fn(it.Detail)
	}
	for i := range r.Quality {
		r.Quality[i].Detail = fn(r.Quality[i].Detail)
	}
}

// monitors: each must answer now, and hold: a fleet that is already
// unhealthy is no place to start a release.
func (r *Report) monitors(ctx context.Context, in Input) {
	for _, m := range in.Rollout.Monitors {
		if m.Compare != nil {
			r.compareMonitor(ctx, in, m)
			continue
		}
		ok, detail := check.Monitor(ctx, m.URL, m.Query, m.Condition)
		r.add(Item{Kind: "monitors", Name: "monitor " + m.Name, OK: ok, Detail: detail})
	}
}

func (r *Report) add(it Item) { r.Items = append(r.Items, it) }

func (r *Report) decide() {
	r.Go, r.WaitOnly = true, true
	for _, it := range r.Items {
		if it.OK {
			continue
		}
		r.Go = false
		where := ""
		if it.Host != "" {
			where = " on " + it.Host
		}
		r.Reasons = append(r.Reasons, fmt.Sprintf("%s%s: %s", it.Name, where, it.Detail))
		if !it.Waitable {
			r.WaitOnly = false
		}
	}
	if r.Go {
		r.WaitOnly = false
	}
	r.decideQuality()
}

func (r *Report) targets(in Input) {
	n := len(in.Plan.ResolveTargets())
	for _, s := range in.Rollout.Stages {
		if s.Hosts == 0 {
			r.add(Item{Kind: "targets", Name: "stage " + s.Name + " has targets", Detail: "its on: selects no host"})
		}
	}
	r.add(Item{Kind: "targets", Name: "targets resolve", OK: n > 0, Detail: fmt.Sprintf("%d target(s)", n)})
}

// reach dials every ssh target: host keys, credentials and reachability
// are checked before anything changes.
func (r *Report) reach(ctx context.Context, in Input) {
	problems := in.Engine.Reach(ctx, in.Rollout)
	hosts := make([]string, 0, len(problems))
	for h := range problems {
		hosts = append(hosts, h)
	}
	sort.Strings(hosts)
	for _, h := range hosts {
		r.add(Item{Kind: "targets", Name: "target reachable", Host: h, Detail: problems[h].Error()})
	}
}

func (r *Report) artifacts(in Input) {
	if in.ArtErr != nil {
		for _, err := range unjoin(in.ArtErr) {
			r.add(Item{Kind: "artifact", Name: "artifacts intact", Detail: err.Error()})
		}
	}
	names := make([]string, 0, len(in.Artifacts))
	for name := range in.Artifacts {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		f := in.Artifacts[name]
		it := Item{Kind: "artifact", Name: "artifact " + name, OK: true, Detail: fmt.Sprintf("sha256 %.16s… verified", f.SHA256)}
		if !f.Checked {
			it.Detail = fmt.Sprintf("sha256 %.16s… (no expected sum in the plan)", f.SHA256)
			if in.Plan.Controls.Integrity == "required" {
				it.OK, it.Detail = false, "no expected sha256, but controls.integrity is required"
			}
		}
		r.add(it)
	}
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

func (r *Report) preflight(ctx context.Context, in Input) {
	for _, res := range in.Engine.Preflight(ctx, in.Rollout) {
		r.add(Item{Kind: "preflight", Name: fmt.Sprintf("preflight %q", res.Check), Host: res.Host, OK: res.OK, Detail: res.Detail})
	}
}

func (r *Report) window(in Input) {
	w, err := Window(in.Plan.Window)
	if err != nil {
		r.add(Item{Kind: "window", Name: "release window", Detail: err.Error()})
		return
	}
	if w == nil {
		r.add(Item{Kind: "window", Name: "release window", OK: true, Detail: "no window: always open"})
		return
	}
	open, why := w.IsOpen(in.Now)
	it := Item{Kind: "window", Name: "release window", OK: open, Detail: why, Waitable: !open}
	if !open {
		if next, ok := w.NextOpen(in.Now); ok {
			r.NextOpen = &next
		} else {
			it.Waitable = false
		}
	}
	r.add(it)
}

func (r *Report) ticket(in Input) {
	t := in.Plan.Controls.Ticket
	switch {
	case t == nil || (!t.Required && t.Pattern == ""):
		return
	case in.Ticket == "" && t.Required:
		r.add(Item{Kind: "ticket", Name: "change ticket", Detail: "required: give it with --ticket"})
	case in.Ticket == "":
		r.add(Item{Kind: "ticket", Name: "change ticket", OK: true, Detail: "none given (optional)"})
	case t.Pattern != "" && !regexp.MustCompile(t.Pattern).MatchString(in.Ticket):
		r.add(Item{Kind: "ticket", Name: "change ticket", Detail: fmt.Sprintf("%q does not match %s", in.Ticket, t.Pattern)})
	default:
		r.add(Item{Kind: "ticket", Name: "change ticket", OK: true, Detail: in.Ticket})
	}
}

func (r *Report) approvals(ctx context.Context, in Input) {
	a := in.Plan.Controls.Approvals
	if a == nil || a.Required == 0 {
		return
	}
	rules := approval.RulesFor(a, 0)
	if in.Run == nil {
		how := "approve it with `golive approve RUN`"
		if a.Authenticated {
			how = approval.MustUseServer
		}
		r.add(Item{Kind: "approvals", Name: "approvals", Waitable: true,
			Detail: fmt.Sprintf("0/%d: a run records what it waits for; %s", a.Required, how)})
		return
	}
	all, err := in.Store.ListApprovals(ctx, in.Run.ID)
	if err != nil {
		r.add(Item{Kind: "approvals", Name: "approvals", Detail: err.Error()})
		return
	}
	subj := Subject(*in.Run, in.PlanHash, "")
	if in.Run.Artifacts.Bound() {
		subj.Artifacts = Sums(in.Artifacts)
	}
	t := approval.Count(rules, subj, all)
	it := Item{Kind: "approvals", Name: "approvals", OK: t.Satisfied(), Detail: t.Summary(), Waitable: t.Rejected == nil}
	for _, ig := range t.Ignored {
		it.Detail += fmt.Sprintf("; not counted: %s (%s)", ig.Approval.Approver, ig.Why)
	}
	r.add(it)
}

// Subject is what a run's approvals (for gate) are bound to.
func Subject(run store.Run, planHash, gate string) approval.Subject {
	return approval.SubjectOf(run, planHash, gate)
}

// Sums are the sha256s of verified artifacts (and upload src files), by
// name: what a run and its approvals are bound to.
func Sums(files map[string]artifact.File) store.ArtifactSums {
	m := make(map[string]string, len(files))
	for name, f := range files {
		m[name] = f.SHA256
	}
	return store.NewArtifactSums(m)
}

func (r *Report) backout(in Input) {
	if in.Plan.Controls.Backout != "required" {
		return
	}
	var missing []string
	for _, s := range in.Plan.Stages {
		for _, st := range s.Steps {
			if st.ChangesTarget() && st.Backout == "" {
				missing = append(missing, s.Name+"/"+st.Name)
			}
		}
	}
	it := Item{Kind: "backout", Name: "every change has a backout", OK: len(missing) == 0, Detail: "every step that changes a target declares one"}
	if len(missing) > 0 {
		it.Detail = fmt.Sprintf("no backout: %v", missing)
	}
	r.add(it)
}

// backoutVerify says, when the plan opts out with backout.verify: false,
// that backouts are unverified (not a reason to refuse).
func (r *Report) backoutVerify(in Input) {
	if in.Plan.Backout.IsVerified() {
		return
	}
	r.add(Item{Kind: "backout", Name: "backouts verified", OK: true,
		Detail: "NO (backout.verify: false): a backed-out host counts as backed out when its backout scripts exit 0; the previous release's health checks are not run"})
}

func (r *Report) rehearsal(ctx context.Context, in Input) {
	env := in.Plan.Controls.RehearsedIn
	if env == "" || env == in.Plan.Env {
		return
	}
	ok, detail, err := Rehearsed(ctx, in.Store, in.Plan.Name, env, in.Rollout.Release, in.PlanHash)
	if err != nil {
		detail = err.Error()
	}
	r.add(Item{Kind: "rehearsal", Name: "rehearsed in " + env, OK: ok && err == nil, Detail: detail})
}

// KindRehearsal is the journal event `golive rehearse` writes when a
// rehearsal ends: passed, or failed when the previous release was not
// healthy again after the backout.
const KindRehearsal store.Kind = "rehearsal"

// Rehearsed reports whether release was rehearsed in env with the same
// plan: a run there that verified and was then backed out cleanly.
func Rehearsed(ctx context.Context, st store.Store, planName, env, release, hash string) (bool, string, error) {
	runs, err := st.ListRuns(ctx, store.RunFilter{Plan: planName, Env: env, States: []store.State{store.StateBackedOut}})
	if err != nil {
		return false, "", err
	}
	other := ""
	for _, run := range runs {
		if run.Release != release {
			continue
		}
		if run.PlanHash != hash {
			other = run.ID
			continue
		}
		events, err := st.Events(ctx, run.ID, 0)
		if err != nil {
			return false, "", err
		}
		for _, ev := range events {
			// A clean `golive rehearse`, or a release that succeeded and was
			// later backed out cleanly (its journal has the succeeded state).
			if (ev.Kind == KindRehearsal && ev.Action == store.ActionPassed) ||
				(ev.Kind == store.KindState && ev.Action == store.Action(store.StateSucceeded)) {
				return true, fmt.Sprintf("run %s released %s in %s and backed it out cleanly", run.ID, release, env), nil
			}
		}
	}
	if other != "" {
		return false, fmt.Sprintf("run %s rehearsed %s in %s with another version of the plan", other, release, env), nil
	}
	return false, fmt.Sprintf("no clean rehearsal of %s in %s: run `golive rehearse -r %s --env %s`", release, env, release, env), nil
}

func (r *Report) lock(ctx context.Context, in Input) {
	if in.SkipLock {
		return
	}
	l, err := in.Store.GetLock(ctx, in.Plan.Name, in.Plan.Env)
	switch {
	case errors.Is(err, store.ErrNotFound):
		r.add(Item{Kind: "lock", Name: "environment lock", OK: true, Detail: "free"})
	case err != nil:
		r.add(Item{Kind: "lock", Name: "environment lock", Detail: err.Error()})
	case in.Run != nil && l.RunID == in.Run.ID:
		r.add(Item{Kind: "lock", Name: "environment lock", OK: true, Detail: "held by this run"})
	default:
		r.add(Item{Kind: "lock", Name: "environment lock", Detail: fmt.Sprintf("held by run %s (requested by %s, %s)", l.RunID, l.Requester, l.Holder)})
	}
}

// Pending re-checks only what a waiting run waits for (the window and the
// approvals), for polling: it runs no preflight check.
func Pending(ctx context.Context, in Input) *Report {
	r := &Report{Plan: in.Plan.Name, Env: in.Plan.Env, Release: in.Rollout.Release}
	r.window(in)
	r.approvals(ctx, in)
	r.redact(in.Redact)
	r.decide()
	return r
}
