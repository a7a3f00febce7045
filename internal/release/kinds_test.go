package release_test

import (
	"strings"
	"testing"

	"github.com/golive-dev/golive/internal/release"
	"github.com/golive-dev/golive/internal/store"
)

const frozenPlan = basePlan + `window:
  freeze:
    - {from: 2000-01-01T00:00, to: 2999-01-01T00:00, reason: year-end freeze}
`

// Break-glass through the core, as the server calls it: refused without
// controls.override or with a bad reason (nothing recorded), else a
// waiting override run that one listed approver other than the requester
// lets go.
func TestBreakGlassThroughTheCore(t *testing.T) {
	ctx := ctxFor(t)
	f := newFixture(t, frozenPlan)
	_, err := f.svc.Start(ctx, release.StartOptions{Plan: f.in(), Release: "1.0", By: api("rita"), OverrideWindow: "CVE"})
	wantKind(t, err, release.NoGo)
	_, err = f.svc.Start(ctx, release.StartOptions{Plan: f.in(), Release: "1.0", By: api("rita"), OverrideWindow: "two\nlines"})
	wantKind(t, err, release.Invalid)
	if n := len(f.runs()); n != 0 {
		t.Fatalf("%d runs recorded by refused break-glass starts", n)
	}

	f = newFixture(t, frozenPlan+"controls:\n  override: {approvers: [cto, rita]}\n")
	res, err := f.svc.Start(ctx, release.StartOptions{Plan: f.in(), Release: "1.0", By: api("rita"), OverrideWindow: "CVE-2026-1"})
	if err != nil {
		t.Fatal(err)
	}
	run := res.Run
	if run.State != store.StateWaiting || !strings.Contains(strings.Join(res.Waiting, ";"), "break-glass approval: 0/1") {
		t.Fatalf("run %s waiting for %v", run.State, res.Waiting)
	}
	if !strings.HasPrefix(res.Review.Override, "BREAK-GLASS: release window overridden by rita") {
		t.Errorf("review override %q", res.Review.Override)
	}
	// The requester is on the list, but may not approve her own.
	_, err = f.svc.Approve(ctx, release.DecideOptions{Run: f.ref(run.ID), By: api("rita"), Gate: release.GateOverride})
	wantKind(t, err, release.Refused)
	d, err := f.svc.Approve(ctx, release.DecideOptions{Run: f.ref(run.ID), By: api("cto")})
	if err != nil {
		t.Fatal(err)
	}
	if d.Gate != release.GateOverride || !d.CanGoOn {
		t.Fatalf("decision on %q, can go on %v", d.Gate, d.CanGoOn)
	}
	res, err = f.svc.Resume(ctx, release.ResumeOptions{Run: f.ref(run.ID), By: api("cto")})
	if err != nil {
		t.Fatal(err)
	}
	if res.Run.State != store.StateSucceeded || f.current("h2") != "1.0" {
		t.Fatalf("after the approval: %s, h2 on %q", res.Run.State, f.current("h2"))
	}
	kind, why := release.RunKind(res.Events)
	if kind != release.KindOverride || why != "CVE-2026-1" {
		t.Errorf("kind %q reason %q", kind, why)
	}
}

// The live release again is a no-go unless forced (a redeploy).
func TestAlreadyLiveNeedsForce(t *testing.T) {
	ctx := ctxFor(t)
	f := newFixture(t, basePlan)
	if _, err := f.svc.Start(ctx, release.StartOptions{Plan: f.in(), Release: "1.0", By: api("rita")}); err != nil {
		t.Fatal(err)
	}
	_, err := f.svc.Start(ctx, release.StartOptions{Plan: f.in(), Release: "1.0", By: api("rita")})
	wantKind(t, err, release.NoGo)
	if !strings.Contains(err.Error(), "nothing was changed") {
		t.Errorf("error %v", err)
	}
	res, err := f.svc.Start(ctx, release.StartOptions{Plan: f.in(), Release: "1.0", By: api("rita"), Force: true})
	if err != nil || res.Run.State != store.StateSucceeded {
		t.Fatalf("forced redeploy: %v", err)
	}
	if kind, _ := release.RunKind(res.Events); kind != release.KindRedeploy {
		t.Errorf("kind %q, want redeploy", kind)
	}
}
