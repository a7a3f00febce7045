package engine_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golive-dev/golive/internal/engine"
	"github.com/golive-dev/golive/internal/load"
	"github.com/golive-dev/golive/internal/rollout"
	"github.com/golive-dev/golive/internal/store"
)

// restorePlan is two hosts h1, h2 (batches [h1] [h2]) whose switch step
// installs releases/V/ok and points current at V, and fails on h2. Its
// backout restarts the previous release in the background, as service
// scripts do: current is written back only after %[1]s seconds, and only
// when the previous release's files are still there. The health check
// wants current = release.version and its files; its timeout is %[2]s.
// %[3]s is appended (backout settings).
const restorePlan = `stages:
  - name: web
    on: web
    strategy: {canary: 1}
    steps:
      - name: switch
        run: |
          mkdir -p "releases/$GOLIVE_RELEASE" && touch "releases/$GOLIVE_RELEASE/ok"
          echo "$GOLIVE_RELEASE" > current
          echo switch >> log
          if [ "$GOLIVE_HOST" = h2 ]; then echo broken >&2; exit 1; fi
        backout: |
          echo undo-switch >> log
          if [ -n "$GOLIVE_PREVIOUS" ] && [ -f "releases/$GOLIVE_PREVIOUS/ok" ]; then
            setsid sh -c 'sleep %[1]s; echo "$GOLIVE_PREVIOUS" > current.tmp && mv current.tmp current' >/dev/null 2>&1 </dev/null &
          else
            rm -f current
          fi
    health:
      - name: serves
        run: 'test "$(cat current)" = "$GOLIVE_RELEASE" && test -f "releases/$GOLIVE_RELEASE/ok"'
        timeout: %[2]s
        interval: 100ms
%[3]s`

// installPrevious puts release 1.0's files on the hosts, as a release
// before would have left them.
func installPrevious(t *testing.T, f *fixture, hosts ...string) {
	t.Helper()
	for _, h := range hosts {
		dir := filepath.Join(f.hostDir(h), "releases", "1.0")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "ok"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(f.hostDir(h), "current"), []byte("1.0\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func (f *fixture) current(host string) string {
	f.t.Helper()
	b, _ := os.ReadFile(filepath.Join(f.hostDir(host), "current"))
	return strings.TrimSpace(string(b))
}

// rebuild builds the fixture's rollout for release and previous.
func (f *fixture) rebuild(release, previous string) {
	f.t.Helper()
	res, err := load.Load(load.Options{File: f.file})
	if err != nil || res.Diags.HasErrors() {
		f.t.Fatalf("load: %v %v", err, res.Diags.Errors())
	}
	ro, err := rollout.Build(rollout.Input{Plan: res.Plan, Release: release, Previous: previous})
	if err != nil {
		f.t.Fatal(err)
	}
	f.ro = ro
}

// TestBackoutWaitsForPreviousReleaseHealthy: the backout restarts 1.0 in
// the background, a second later; the run ends backed out only once the
// health check of 1.0 passes on every host, so when Start returns every
// host is on 1.0 (a backout that trusted its scripts' exit 0 would return
// while current still says 2.0).
func TestBackoutWaitsForPreviousReleaseHealthy(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 2, fmt.Sprintf(restorePlan, "1", "20s", ""))
	installPrevious(t, f, "h1", "h2")
	out := f.start(f.engine())
	f.wantState(out, store.StateBackedOut)
	for _, h := range []string{"h1", "h2"} {
		if got := f.current(h); got != "1.0" {
			t.Errorf("%s: current = %q when the backout returned, want 1.0", h, got)
		}
	}
	evs := f.events(out.Run.ID)
	for _, h := range []string{"h1", "h2"} {
		v := filter(evs, match{kind: store.KindHost, action: engine.ActionBackoutVerified, host: h})
		if len(v) != 1 || v[0].Message != "verified healthy at 1.0" || v[0].Stage != "web" {
			t.Errorf("%s: journal has %+v, want one backout_verified \"verified healthy at 1.0\" in stage web", h, v)
		}
		// Journaled like any check, after the host's backout.
		passed := filter(evs, match{kind: store.KindCheck, action: store.ActionPassed, host: h, step: "serves"})
		if len(passed) == 0 || passed[len(passed)-1].Message != "release 1.0, after the backout: exit 0" {
			t.Errorf("%s: passed checks serves %+v, want the last \"release 1.0, after the backout: exit 0\"", h, passed)
		}
		if lastOf(evs, match{kind: store.KindHost, action: store.ActionBackedOut, host: h}) > lastOf(evs, match{kind: store.KindHost, action: engine.ActionBackoutVerified, host: h}) {
			t.Errorf("%s: verified before it was backed out", h)
		}
	}
	if len(out.Attention) != 0 {
		t.Errorf("Attention = %q", out.Attention)
	}
	wantNoLock(t, f)
}

func lastOf(evs []store.Event, m match) int64 {
	var seq int64
	for _, e := range filter(evs, m) {
		seq = e.Seq
	}
	return seq
}

// TestBackoutUnhealthyNeedsAttention: release 1.0's files were removed by
// hand on h1: its backout script exits 0 but 1.0 cannot come back, so h1
// needs attention (naming the check), the run is backout_failed and keeps
// the lock. Once a person puts 1.0 back, `golive backout` again verifies
// h1 only (its scripts ran fine already and do not run again; h2 was
// verified) and the run is backed out.
func TestBackoutUnhealthyNeedsAttention(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 2, fmt.Sprintf(restorePlan, "0.2", "1500ms", ""))
	installPrevious(t, f, "h2")
	out := f.start(f.engine())
	f.wantState(out, store.StateBackoutFailed)
	if len(out.Attention) != 1 || !strings.HasPrefix(out.Attention[0], "h1: ") || !strings.Contains(out.Attention[0], `check "serves"`) ||
		!strings.Contains(out.Attention[0], "1.0") {
		t.Fatalf("Attention = %q, want one line naming h1, release 1.0 and check serves", out.Attention)
	}
	evs := f.events(out.Run.ID)
	if n := count(evs, match{kind: store.KindHost, action: engine.ActionBackoutUnhealthy, host: "h1"}); n != 1 {
		t.Errorf("h1: %d backout_unhealthy events, want 1", n)
	}
	if n := count(evs, match{kind: store.KindRun, action: engine.ActionNeedsAttention}); n != 1 {
		t.Errorf("%d needs_attention events, want 1", n)
	}
	// The restored release's check is journaled failed (not terminated:
	// nothing stopped it), with why.
	restored := filter(evs, match{kind: store.KindCheck, host: "h1", step: "serves"})
	if last := restored[len(restored)-1]; last.Action != store.ActionFailed ||
		!strings.HasPrefix(last.Message, "release 1.0, after the backout: ") || len(last.Message) <= len("release 1.0, after the backout: ") {
		t.Errorf("h1: last check event %s %q, want failed \"release 1.0, after the backout: <why>\"", last.Action, last.Message)
	}
	if n := count(evs, match{kind: store.KindHost, action: engine.ActionBackoutVerified, host: "h2"}); n != 1 {
		t.Errorf("h2: %d backout_verified events, want 1", n)
	}
	wantLock(t, f, out.Run.ID)

	// Not fixed yet: backing out again still finds h1 unhealthy.
	out2, err := f.engine().Backout(context.Background(), out.Run, f.ro, "again")
	if err != nil {
		t.Fatal(err)
	}
	f.wantState(out2, store.StateBackoutFailed)
	wantLock(t, f, out.Run.ID)

	installPrevious(t, f, "h1") // a person restores 1.0 on h1
	out3, err := f.engine().Backout(context.Background(), out2.Run, f.ro, "fixed by hand")
	if err != nil {
		t.Fatal(err)
	}
	f.wantState(out3, store.StateBackedOut)
	evs = f.events(out.Run.ID)
	if n := count(evs, match{kind: store.KindHost, action: engine.ActionBackoutVerified, host: "h1"}); n != 1 {
		t.Errorf("h1: %d backout_verified events after the fix, want 1", n)
	}
	if n := count(evs, match{kind: store.KindCheck, action: store.ActionStarted, host: "h2", step: "serves"}); n != 1 {
		t.Errorf("h2's restored release was checked %d times, want once (it was verified the first time)", n)
	}
	equal(t, "h1 log", f.log("h1"), []string{"switch", "undo-switch"})
	wantNoLock(t, f)
}

// TestFirstReleaseBackoutIsNotVerified: nothing was live before a first
// release, so there is nothing to check; the journal says so.
func TestFirstReleaseBackoutIsNotVerified(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 2, fmt.Sprintf(restorePlan, "0", "1s", ""))
	f.rebuild("1.0", "")
	out := f.start(f.engine())
	f.wantState(out, store.StateBackedOut)
	evs := f.events(out.Run.ID)
	if n := count(evs, match{kind: store.KindCheck, action: store.ActionStarted, step: "serves"}); n != 1 {
		t.Errorf("%d health checks ran, want 1 (h1's, in the rollout; none after the backout)", n)
	}
	run := filter(evs, match{kind: store.KindRun, action: engine.ActionBackoutUnverified})
	if len(run) != 1 || !strings.Contains(run[0].Message, "first release") {
		t.Errorf("journal: %+v, want one run event saying a first release's backout is not verified", run)
	}
	for _, h := range []string{"h1", "h2"} {
		if n := count(evs, match{kind: store.KindHost, action: engine.ActionBackoutUnverified, host: h}); n != 1 {
			t.Errorf("%s: %d backout_unverified events, want 1", h, n)
		}
		if _, err := os.Stat(filepath.Join(f.hostDir(h), "current")); err == nil {
			t.Errorf("%s: current is still there after backing out a first release", h)
		}
	}
}

// TestBackoutVerifyFalse: with backout.verify: false a backout whose
// scripts exit 0 counts, healthy or not, and the journal says it was not
// verified.
func TestBackoutVerifyFalse(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 2, fmt.Sprintf(restorePlan, "0", "1s", "backout:\n  verify: false\n"))
	installPrevious(t, f, "h2") // h1 cannot come back to 1.0
	out := f.start(f.engine())
	f.wantState(out, store.StateBackedOut)
	evs := f.events(out.Run.ID)
	run := filter(evs, match{kind: store.KindRun, action: engine.ActionBackoutUnverified})
	if len(run) != 1 || !strings.Contains(run[0].Message, "backout.verify is false") {
		t.Errorf("journal: %+v, want one run event saying backouts are not verified", run)
	}
	if n := count(evs, match{kind: store.KindCheck, action: store.ActionStarted, step: "serves"}); n != 1 {
		t.Errorf("%d health checks ran, want 1 (h1's, in the rollout)", n)
	}
	wantNoLock(t, f)
	// h2's backout restores 1.0 in the background, unverified: let it
	// finish before the temp dir is removed under it.
	cur := filepath.Join(f.hostDir("h2"), "current")
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if b, _ := os.ReadFile(cur); strings.TrimSpace(string(b)) == "1.0" {
			return
		}
	}
	t.Errorf("h2's background restore did not write 1.0 into current")
}

// TestAbortBackoutIsVerified: an operator's abort backs out and verifies
// like any failure: the run ends only once 1.0, restarted in the
// background by the backout, passes its health check.
func TestAbortBackoutIsVerified(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1, `stages:
  - name: web
    on: web
    steps:
      - name: switch
        run: echo "$GOLIVE_RELEASE" > current
        backout: setsid sh -c 'sleep 1; echo "$GOLIVE_PREVIOUS" > current' >/dev/null 2>&1 </dev/null &
      - name: sleep
        backout: "true"
        run: |
          echo $$ > sh.pid
          sleep 30
    health:
      - name: serves
        run: 'test "$(cat current)" = "$GOLIVE_RELEASE"'
        timeout: 20s
        interval: 100ms
`)
	c, done := startAsync(t, f, f.engine(func(o *engine.Options) { o.PollEvery = 50 * time.Millisecond }), 0)
	run := created(t, c)
	waitFile(t, filepath.Join(f.hostDir("h1"), "sh.pid"), 5*time.Second)
	if err := engine.RequestAbort(context.Background(), f.openStore(), run.ID, "bob", "", false); err != nil {
		t.Fatal(err)
	}
	var out *engine.Outcome
	select {
	case out = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("run did not stop after the abort")
	}
	f.wantState(out, store.StateBackedOut)
	if got := f.current("h1"); got != "1.0" {
		t.Errorf("current = %q when the aborted run ended, want 1.0", got)
	}
	if n := count(f.events(run.ID), match{kind: store.KindHost, action: engine.ActionBackoutVerified, host: "h1"}); n != 1 {
		t.Errorf("%d backout_verified events, want 1", n)
	}
}

// TestBackoutVerifiedPerStage: a host backed out in two stages is verified
// once all its backouts ran, stage by stage in plan order; a stage without
// health checks says so. A host whose backout failed is not verified.
func TestBackoutVerifiedPerStage(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 2, `stages:
  - name: db
    on: web
    steps:
      - {name: migrate, run: echo migrate >> log, backout: echo undo-migrate >> log}
  - name: web
    on: web
    steps:
      - name: switch
        run: 'echo "$GOLIVE_RELEASE" > current; [ "$GOLIVE_HOST" != h1 ]'
        backout: '[ "$GOLIVE_HOST" != h2 ] && echo "$GOLIVE_PREVIOUS" > current'
    health:
      - name: serves
        run: 'test "$(cat current)" = "$GOLIVE_RELEASE"'
        timeout: 2s
        interval: 100ms
`)
	out := f.start(f.engine())
	f.wantState(out, store.StateBackoutFailed)
	evs := f.events(out.Run.ID)
	var verdicts []string
	for _, e := range evs {
		switch e.Action {
		case engine.ActionBackoutVerified, engine.ActionBackoutUnverified, engine.ActionBackoutUnhealthy:
			verdicts = append(verdicts, e.Host+" "+e.Stage+" "+e.Message)
		}
	}
	equal(t, "verdicts", verdicts, []string{"h1 db not verified: stage db has no health checks", "h1 web verified healthy at 1.0"})
	for _, a := range out.Attention {
		if !strings.HasPrefix(a, "h2: ") || strings.Contains(a, "healthy") {
			t.Errorf("Attention has %q; want only h2's failed backout", a)
		}
	}
	if lastOf(evs, match{kind: store.KindStep, action: store.ActionBackedOut, host: "h1", step: "migrate"}) > lastOf(evs, match{kind: store.KindCheck, action: store.ActionStarted, host: "h1", step: "serves"}) {
		t.Error("h1 was verified before its older stage was backed out")
	}
}
