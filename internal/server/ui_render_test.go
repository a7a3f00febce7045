package server

import (
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/golive-dev/golive/internal/approval"
	"github.com/golive-dev/golive/internal/plan"
	"github.com/golive-dev/golive/internal/release"
	"github.com/golive-dev/golive/internal/review"
	"github.com/golive-dev/golive/internal/store"
)

// hostile is markup, an attribute breaker, a URL scheme and terminal
// control characters: whatever a plan, inventory, step or person may
// put in a name, a message or an output.
const hostile = `<script>alert(1)</script>"'><img src=x onerror=alert(2)>javascript:alert(3)` + "\x1b[31m"

func hostileStatus(hosts int) *release.Status {
	exit1 := 1
	run := store.Run{ID: "r-1" + hostile, Plan: "shop" + hostile, Env: "prod" + hostile, Release: "1.0" + hostile, PreviousRelease: "0.9" + hostile,
		Requester: "mallory" + hostile, RequesterVia: store.ViaAPI, RequesterToken: "mallory" + hostile, Ticket: "CHG-1" + hostile,
		State: store.StateRunning, Reason: "because" + hostile, CreatedAt: time.Now(), StartedAt: time.Now()}
	sts := &release.Status{Run: run, NotCounted: map[int64]string{1: "not counted" + hostile}}
	t0 := time.Now()
	seq := int64(0)
	add := func(ev store.Event) {
		seq++
		ev.RunID, ev.Seq, ev.Time = run.ID, seq, t0.Add(time.Duration(seq)*time.Millisecond)
		sts.Events = append(sts.Events, ev)
	}
	stage := "web" + hostile
	add(store.Event{Kind: store.KindStage, Action: store.ActionStarted, Stage: stage})
	for i := range hosts {
		host := fmt.Sprintf("h%d%s", i, hostile)
		add(store.Event{Kind: store.KindHost, Action: store.ActionStarted, Stage: stage, Batch: 1 + i/50, Host: host})
		for _, step := range []string{"fetch", "unpack", "switch" + hostile, "restart", "smoke"} {
			add(store.Event{Kind: store.KindStep, Action: store.ActionStarted, Stage: stage, Batch: 1 + i/50, Host: host, Step: step})
			if i == 3 && strings.HasPrefix(step, "switch") {
				add(store.Event{Kind: store.KindStep, Action: store.ActionFailed, Stage: stage, Host: host, Step: step, ExitCode: &exit1,
					Output: "out" + hostile + "\n", Message: "msg" + hostile})
				break
			}
			add(store.Event{Kind: store.KindStep, Action: store.ActionFinished, Stage: stage, Host: host, Step: step, ExitCode: new(int), Output: "ok\n"})
		}
		add(store.Event{Kind: store.KindHost, Action: store.ActionFinished, Stage: stage, Host: host})
	}
	add(store.Event{Kind: store.KindApproval, Action: "approval_requested", Step: "stage:" + stage, Message: "waiting" + hostile})
	add(store.Event{Kind: store.KindRun, Action: "needs_attention", Message: "attention" + hostile})
	sts.Approvals = []store.Approval{{ID: 1, RunID: run.ID, Approver: "eve" + hostile, Decision: store.DecisionApprove, Comment: "lgtm" + hostile, Gate: "stage:" + stage, Time: t0}}
	return sts
}

func hostileReview() *review.Report {
	return &review.Report{Plan: "shop" + hostile, Release: "1.0" + hostile, Go: false, Reasons: []string{"reason" + hostile},
		Warnings: []string{"warn" + hostile}, Override: "override" + hostile,
		Items: []review.Item{{Kind: "preflight", Name: "disk" + hostile, Host: "h1" + hostile, Detail: "detail" + hostile, Found: "f" + hostile, Want: "w" + hostile}}}
}

// renderRun renders the run page of sts as a signed-in admin would see
// it (every button).
func renderRun(w io.Writer, sts *release.Status) error {
	v := buildRunView(sts, nil, hostileReview(), time.Now())
	pg := &page{Title: "Run " + sts.Run.ID, Who: "root" + hostile, SignedIn: true, CSRF: "csrf" + hostile, Plans: []string{"shop" + hostile},
		Live: "/api/v1/runs/" + sts.Run.ID + "/events?after=1", CanDeploy: true, CanApprove: true}
	pg.Body = map[string]any{"V": v, "Timeline": timelineSVG(sts.Events), "CanAbort": true, "CanBackout": true, "CanResume": true, "CanDecide": true}
	return renderPage(w, "run", pg)
}

// assertEscaped fails when any piece of hostile reached the page as
// markup or a control character.
func assertEscaped(t *testing.T, page string) {
	t.Helper()
	for _, bad := range []string{"<script>alert", "<img src=x", `"'><`, "\x1b", "onerror=alert(2)>"} {
		if strings.Contains(page, bad) {
			i := strings.Index(page, bad)
			t.Errorf("the page has %q unescaped: ...%s...", bad, page[max(0, i-120):min(len(page), i+80)])
		}
	}
	if n := strings.Count(page, "<script"); n != 1 {
		t.Errorf("want only the page's own <script src>, got %d script tags", n)
	}
}

// TestUIHostileRunPage: every string of a run (ids, plan, env, release,
// people, hosts, steps, messages, output, comments, review lines) is
// escaped on the run page, in text and in attributes.
func TestUIHostileRunPage(t *testing.T) {
	var b strings.Builder
	if err := renderRun(&b, hostileStatus(5)); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	assertEscaped(t, page)
	for _, want := range []string{"&lt;script&gt;alert(1)&lt;/script&gt;", "Abort", "Approve", "Reject", "Backout", `data-state="failed"`, "Failures"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
}

// TestUIHostileOtherPages: the runs list, the plan page with a review,
// the journal and the error page escape what they show.
func TestUIHostileOtherPages(t *testing.T) {
	sts := hostileStatus(2)
	row := rowOf(sts.Run, time.Now())
	base := func() *page {
		return &page{Who: "root" + hostile, SignedIn: true, CSRF: "c" + hostile, Plans: []string{"shop" + hostile}, CanDeploy: true, CanApprove: true}
	}
	pages := map[string]*page{}
	pg := base()
	pg.Body = map[string]any{"Runs": []runRow{row}, "Plan": "shop" + hostile, "Env": "e" + hostile, "State": "s" + hostile, "Envs": []string{"e" + hostile}, "States": allStates}
	pages["runs"] = pg
	pg = base()
	pg.Body = map[string]any{"Plan": &Plan{Name: "shop" + hostile, File: "/x" + hostile, Envs: []string{"prod" + hostile}},
		"Envs": []envLive{{Name: "prod" + hostile, Hosts: []hostLive{{Host: "h" + hostile, Release: "1" + hostile}}}}, "Runs": []runRow{row},
		"Form": releaseForm{Release: "1" + hostile, Env: "prod" + hostile, Ticket: "t" + hostile, Review: hostileReview(), Error: "err" + hostile}}
	pages["plan"] = pg
	pg = base()
	pg.Body = map[string]any{"Run": row, "Events": []logRow{{Seq: 1, Kind: "step" + hostile, Action: "failed", Host: "h" + hostile, Message: "m" + hostile, Output: "o" + hostile, By: "b" + hostile}}}
	pages["log"] = pg
	pg = base()
	pg.Body = &uiError{Status: 409, Code: "c" + hostile, Error: "e" + hostile}
	pages["error"] = pg
	pg = base()
	pg.Body = map[string]any{"Next": "/x" + hostile, "Error": "e" + hostile}
	pages["signin"] = pg
	for name, pg := range pages {
		var b strings.Builder
		if err := renderPage(&b, name, pg); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		t.Run(name, func(t *testing.T) { assertEscaped(t, b.String()) })
	}
}

// TestUIReadOnlyNoButtons: a page rendered for a caller who may not act
// (read-only server, viewer) has no form that changes anything.
func TestUIReadOnlyNoButtons(t *testing.T) {
	sts := hostileStatus(2)
	v := buildRunView(sts, nil, nil, time.Now())
	for _, pg := range []*page{{ReadOnly: true}, {SignedIn: true, Who: "vera", CSRF: "x"}} {
		pg.Body = map[string]any{"V": v, "Timeline": timelineSVG(nil)}
		var b strings.Builder
		if err := renderPage(&b, "run", pg); err != nil {
			t.Fatal(err)
		}
		for _, bad := range []string{`action="/runs/`, `id="abort"`, `id="approve"`, `id="backout"`} {
			if strings.Contains(b.String(), bad) {
				t.Errorf("read-only=%v: the page has %s", pg.ReadOnly, bad)
			}
		}
	}
}

// TestUIRunViewStates: the matrix follows the journal: a failed step is
// ✘ with its output among the failures, a backed-out host ↺, progress
// counts finished hosts, and an open gate is what Approve decides.
func TestUIRunViewStates(t *testing.T) {
	sts := hostileStatus(4)
	v := buildRunView(sts, nil, nil, time.Now())
	if len(v.Stages) != 1 || v.Stages[0].Total != 4 || v.Stages[0].Done != 4 {
		t.Fatalf("stages: %+v", v.Stages)
	}
	if len(v.Failures) != 1 || v.Failures[0].Exit != "1" || !strings.Contains(v.Failures[0].Output, "out") {
		t.Errorf("failures: %+v", v.Failures)
	}
	if !strings.HasPrefix(v.Open, "stage:web") {
		t.Errorf("open gate: %q", v.Open)
	}
	st := v.Stages[0]
	h3 := st.hosts[fmt.Sprintf("h3%s", hostile)]
	if h3.Cells[st.steps["switch"+hostile]].State != "failed" || h3.Cells[st.steps["restart"]].State != "" {
		t.Errorf("h3: %+v", h3.Cells)
	}
	// A backout turns the cells ↺ and the host backed out.
	sts.Events = append(sts.Events,
		store.Event{Kind: store.KindStep, Action: store.ActionBackedOut, Stage: "web" + hostile, Host: h3.Name, Step: "fetch"},
		store.Event{Kind: store.KindHost, Action: store.ActionBackedOut, Stage: "web" + hostile, Host: h3.Name},
		store.Event{Kind: store.KindHost, Action: "backout_unverified", Stage: "web" + hostile, Host: h3.Name})
	v = buildRunView(sts, nil, nil, time.Now())
	h3 = v.Stages[0].hosts[h3.Name]
	if h3.State != "backed_out" || mark(h3.Cells[0].State) != "↺" {
		t.Errorf("after the backout: %s %+v", h3.State, h3.Cells)
	}
}

// BenchmarkRunPage500Hosts renders the page of a 500-host run (5 steps
// each): the view from its journal, then the template.
func BenchmarkRunPage500Hosts(b *testing.B) {
	sts := hostileStatus(500)
	size := 0
	for b.Loop() {
		var w strings.Builder
		if err := renderRun(&w, sts); err != nil {
			b.Fatal(err)
		}
		size = w.Len()
	}
	b.ReportMetric(float64(size)/1024, "KiB/page")
}

// TestUIOpenGate: what Approve decides on a waiting run: its own
// approvals, or first a break-glass run's override approval.
func TestUIOpenGate(t *testing.T) {
	run := store.Run{ID: "r-1", State: store.StateWaiting}
	missing := &approval.Tally{Required: 1}
	v := buildRunView(&release.Status{Run: run, RunApprovals: missing}, nil, nil, time.Now())
	if v.Open != "run" || !strings.Contains(v.Tally, "0/1") {
		t.Errorf("approvals missing: open %q, tally %q", v.Open, v.Tally)
	}
	v = buildRunView(&release.Status{Run: run, RunApprovals: missing, OverrideApproval: missing}, nil, nil, time.Now())
	if v.Open != "override" || !strings.Contains(v.Tally, "break-glass") {
		t.Errorf("override missing: open %q, tally %q", v.Open, v.Tally)
	}
	run.State = store.StateSucceeded
	if v = buildRunView(&release.Status{Run: run, RunApprovals: missing}, nil, nil, time.Now()); v.Open != "" {
		t.Errorf("a finished run offers a decision on %q", v.Open)
	}
}

// TestUINotApprover: Approve is offered to those whose decision counts
// under the plan's rules: not the requester under allow_self: false, not
// a name outside approvers; a break-glass override by its own approvers.
func TestUINotApprover(t *testing.T) {
	no := false
	pl := &plan.Plan{Controls: plan.Controls{Approvals: &plan.Approvals{Required: 1, Approvers: []string{"alice", "bob"}, AllowSelf: &no},
		Override: &plan.Override{Approvers: []string{"carol"}}}}
	run := store.Run{Requester: "alice", RequesterToken: "alice"}
	for _, c := range []struct {
		gate, name, want string
	}{
		{"run", "bob", ""},
		{"run", "alice", "you requested this run"},
		{"stage:web", "dan", "not among this plan's approvers (alice, bob)"},
		{"override", "bob", "not among this plan's approvers (carol)"},
		{"override", "carol", ""},
	} {
		got := notApprover(pl, run, c.gate, c.name)
		if c.want == "" && got != "" || c.want != "" && !strings.Contains(got, c.want) {
			t.Errorf("%s by %s: %q, want %q", c.gate, c.name, got, c.want)
		}
	}
	if got := notApprover(nil, run, "run", "alice"); got != "" {
		t.Errorf("without the plan: %q (the API decides)", got)
	}
}
