package release_test

// The conformance suite of the release core: the core driven in-process,
// as the CLI and the server drive it, on local-transport hosts (real
// directories, real processes) with a real SQLite store.

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golive-dev/golive/internal/clock"
	"github.com/golive-dev/golive/internal/plan"
	"github.com/golive-dev/golive/internal/release"
	"github.com/golive-dev/golive/internal/review"
	"github.com/golive-dev/golive/internal/store"
	"github.com/golive-dev/golive/internal/store/sqlite"
)

const basePlan = `golive: 1
name: core
targets:
  defaults: {transport: local}
  hosts:
    h1: {dir: hosts/h1, roles: [web]}
    h2: {dir: hosts/h2, roles: [web]}
stages:
  - name: web
    on: web
    strategy: {canary: 1}
    steps:
      - name: switch
        run: |
          if [ "$GOLIVE_RELEASE" = 2.0-bad ] && [ "$GOLIVE_HOST" = h2 ]; then echo "cannot start" >&2; exit 3; fi
          echo "$GOLIVE_RELEASE" > current
        backout: |
          if [ -n "$GOLIVE_PREVIOUS" ]; then echo "$GOLIVE_PREVIOUS" > current; else rm -f current; fi
    health:
      - name: current set
        run: test -f current
        timeout: 5s
        interval: 100ms
`

const approvalsPlan = basePlan + `controls:
  ticket: {required: true, pattern: '^CHG-[0-9]+$'}
  approvals: {required: 1, approvers: [alice, bob], allow_self: false}
`

// fixture is a plan in a directory of its own, its hosts and its store.
type fixture struct {
	t    *testing.T
	dir  string
	file string
	svc  *release.Service
	diag []plan.Diags
}

func newFixture(t *testing.T, planText string) *fixture {
	t.Helper()
	f := &fixture{t: t, dir: t.TempDir()}
	f.file = filepath.Join(f.dir, "golive.yaml")
	if err := os.WriteFile(f.file, []byte(planText), 0o644); err != nil {
		t.Fatal(err)
	}
	f.svc = &release.Service{
		OpenStore: func(ctx context.Context, planFile string, m release.StoreMode) (store.Store, error) {
			path := filepath.Join(filepath.Dir(planFile), ".golive", "state.db")
			if _, err := os.Stat(path); err != nil && m.Existing {
				return nil, errors.New("no store at " + path)
			}
			return sqlite.Open(ctx, path)
		},
		Diags:   func(d plan.Diags) { f.diag = append(f.diag, d) },
		Environ: map[string]string{"PATH": os.Getenv("PATH")},
	}
	return f
}

func (f *fixture) in() release.PlanInput { return release.PlanInput{File: f.file} }

func (f *fixture) ref(id string) release.RunRef { return release.RunRef{Plan: f.in(), ID: id} }

// current is the release a host says is current ("" when none).
func (f *fixture) current(host string) string {
	b, err := os.ReadFile(filepath.Join(f.dir, "hosts", host, "current"))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// storeExists reports whether anything opened (created) the store.
func (f *fixture) storeExists() bool {
	_, err := os.Stat(filepath.Join(f.dir, ".golive", "state.db"))
	return err == nil
}

func (f *fixture) runs() []store.Run {
	f.t.Helper()
	if !f.storeExists() {
		return nil
	}
	st, err := sqlite.Open(context.Background(), filepath.Join(f.dir, ".golive", "state.db"))
	if err != nil {
		f.t.Fatal(err)
	}
	defer st.Close()
	runs, err := st.ListRuns(context.Background(), store.RunFilter{})
	if err != nil {
		f.t.Fatal(err)
	}
	return runs
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func cli(name string) store.Identity { return store.CLIIdentity(name) }

func api(token string) store.Identity {
	return store.Identity{Name: token, Via: store.ViaAPI, Token: token}
}

// recorder is a Watch that keeps what it was told.
type recorder struct {
	mu       sync.Mutex
	events   []store.Event
	created  []store.Run
	reviewed int
	ready    int
	executed int
}

func (r *recorder) Observe(ev store.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, ev)
}

func (r *recorder) watch() release.Watch {
	return release.Watch{
		Ready:    func(release.Prepared) { r.ready++ },
		Observer: r,
		Reviewed: func(*review.Report) { r.reviewed++ },
		Created:  func(run store.Run) { r.created = append(r.created, run) },
		Executed: func() { r.executed++ },
	}
}

func wantKind(t *testing.T, err error, k release.Kind) {
	t.Helper()
	if got := release.KindOf(err); got != k {
		t.Fatalf("error %v: kind %v, want %v", err, got, k)
	}
}

func TestStartSucceeds(t *testing.T) {
	f := newFixture(t, basePlan)
	ctx := ctxFor(t)
	rec := &recorder{}
	res, err := f.svc.Start(ctx, release.StartOptions{Plan: f.in(), Release: "1.0", By: cli("carol"), Watch: rec.watch()})
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome == nil || res.Run.State != store.StateSucceeded {
		t.Fatalf("run %+v, want succeeded", res.Run)
	}
	if f.current("h1") != "1.0" || f.current("h2") != "1.0" {
		t.Errorf("hosts on %q, %q; want 1.0", f.current("h1"), f.current("h2"))
	}
	if res.Live["h1"].Release != "1.0" || res.Live["h2"].Release != "1.0" {
		t.Errorf("live %+v", res.Live)
	}
	if !res.Touched || len(res.Events) == 0 {
		t.Errorf("touched %v, %d events", res.Touched, len(res.Events))
	}
	if len(rec.created) != 1 || rec.created[0].ID != res.Run.ID || rec.ready != 1 || rec.reviewed != 1 || rec.executed != 1 {
		t.Errorf("watch: created %v, ready %d, reviewed %d, executed %d", rec.created, rec.ready, rec.reviewed, rec.executed)
	}
	if len(rec.events) == 0 || rec.events[len(rec.events)-1].RunID != res.Run.ID {
		t.Errorf("observer got %d events", len(rec.events))
	}
	if id := res.Run.RequesterIdentity(); id.Name != "carol" || id.Via != store.ViaCLI || id.OSUser == "" {
		t.Errorf("requester %+v", id)
	}
	// The journal is readable through Events, from any seq on.
	var seqs []int64
	err = f.svc.Events(ctx, release.EventsOptions{Run: f.ref(res.Run.ID), After: 2, Follow: true}, func(ev store.Event) error {
		seqs = append(seqs, ev.Seq)
		return nil
	})
	if err != nil || len(seqs) != len(res.Events)-2 || seqs[0] != 3 {
		t.Errorf("events after 2: %v (%v); journal has %d", seqs, err, len(res.Events))
	}
}

func TestStartFailsAndIsBackedOut(t *testing.T) {
	f := newFixture(t, basePlan)
	ctx := ctxFor(t)
	if _, err := f.svc.Start(ctx, release.StartOptions{Plan: f.in(), Release: "1.0", By: cli("carol")}); err != nil {
		t.Fatal(err)
	}
	res, err := f.svc.Start(ctx, release.StartOptions{Plan: f.in(), Release: "2.0-bad", By: cli("carol")})
	if err != nil {
		t.Fatal(err)
	}
	if res.Run.State != store.StateBackedOut || res.Run.PreviousRelease != "1.0" {
		t.Fatalf("run %s (previous %s), want backed_out from 1.0", res.Run.State, res.Run.PreviousRelease)
	}
	if f.current("h1") != "1.0" || f.current("h2") != "1.0" {
		t.Errorf("hosts on %q, %q after the backout; want 1.0", f.current("h1"), f.current("h2"))
	}
	if len(res.Outcome.Attention) != 0 {
		t.Errorf("attention: %v", res.Outcome.Attention)
	}
	// A backed-out run has nothing left to back out or to decide.
	_, err = f.svc.Approve(ctx, release.DecideOptions{Run: f.ref(res.Run.ID), By: cli("alice")})
	wantKind(t, err, release.Conflict)
}

func TestWaitingRunApprovedBySecondIdentityThenResumed(t *testing.T) {
	f := newFixture(t, approvalsPlan)
	ctx := ctxFor(t)
	res, err := f.svc.Start(ctx, release.StartOptions{Plan: f.in(), Release: "1.0", Ticket: "CHG-1", By: api("alice")})
	if err != nil {
		t.Fatal(err)
	}
	run := res.Run
	if run.State != store.StateWaiting || len(res.Waiting) == 0 || res.Outcome != nil {
		t.Fatalf("run %s, waiting %v; want a waiting run", run.State, res.Waiting)
	}
	if f.current("h1") != "" {
		t.Fatal("a waiting run changed a host")
	}
	// Going on now is still a wait: the approval is missing.
	res, err = f.svc.Resume(ctx, release.ResumeOptions{Run: f.ref(run.ID), By: api("alice")})
	if err != nil || res.Run.State != store.StateWaiting || len(res.Waiting) == 0 {
		t.Fatalf("resume without approvals: %v, %+v", err, res)
	}
	// The requester may not approve her own run (allow_self: false).
	_, err = f.svc.Approve(ctx, release.DecideOptions{Run: f.ref(run.ID), By: api("alice")})
	wantKind(t, err, release.Refused)
	// Nor may a name that is not an approver.
	_, err = f.svc.Approve(ctx, release.DecideOptions{Run: f.ref(run.ID), By: api("mallory")})
	wantKind(t, err, release.Refused)
	d, err := f.svc.Approve(ctx, release.DecideOptions{Run: f.ref(run.ID), By: api("bob"), Comment: "fine"})
	if err != nil {
		t.Fatal(err)
	}
	if !d.CanGoOn || d.NotCounted != "" || d.Approval.Identity().Token != "bob" || d.Approval.Via != store.ViaAPI {
		t.Fatalf("decision %+v", d)
	}
	// What a server does when a waiting run's approvals are in: resume it.
	res, err = f.svc.Resume(ctx, release.ResumeOptions{Run: f.ref(run.ID), By: api("bob")})
	if err != nil {
		t.Fatal(err)
	}
	if res.Run.State != store.StateSucceeded || f.current("h2") != "1.0" {
		t.Fatalf("after approval: %s, h2 on %q", res.Run.State, f.current("h2"))
	}
	st, err := f.svc.Status(ctx, f.ref(run.ID))
	if err != nil {
		t.Fatal(err)
	}
	if id := st.Run.RequesterIdentity(); !id.Authenticated() || id.Token != "alice" {
		t.Errorf("requester %+v, want token alice", id)
	}
	if len(st.Approvals) != 1 || st.Approvals[0].Approver != "bob" || len(st.NotCounted) != 0 {
		t.Errorf("approvals %+v, not counted %v", st.Approvals, st.NotCounted)
	}
}

func TestAbortOfWaitingRun(t *testing.T) {
	f := newFixture(t, approvalsPlan)
	ctx := ctxFor(t)
	res, err := f.svc.Start(ctx, release.StartOptions{Plan: f.in(), Release: "1.0", Ticket: "CHG-2", By: cli("alice")})
	if err != nil || res.Run.State != store.StateWaiting {
		t.Fatalf("start: %v, %+v", err, res)
	}
	ab, err := f.svc.Abort(ctx, release.AbortOptions{Run: f.ref(res.Run.ID), By: cli("bob"), Reason: "not today", Follow: true})
	if err != nil {
		t.Fatal(err)
	}
	if !ab.Cancelled || ab.Was != store.StateWaiting || ab.Run.State != store.StateAborted || !strings.Contains(ab.Run.Reason, "not today") {
		t.Fatalf("abort %+v", ab)
	}
	// Nothing was changed, and the run cannot be started any more.
	if f.current("h1") != "" {
		t.Error("an aborted waiting run changed a host")
	}
	_, err = f.svc.Approve(ctx, release.DecideOptions{Run: f.ref(res.Run.ID), By: cli("bob")})
	wantKind(t, err, release.Conflict)
	_, err = f.svc.Abort(ctx, release.AbortOptions{Run: f.ref(res.Run.ID), By: cli("bob")})
	wantKind(t, err, release.Conflict)
	_, err = f.svc.Backout(ctx, release.BackoutOptions{Run: f.ref(res.Run.ID), By: cli("bob")})
	wantKind(t, err, release.Conflict)
}

func TestRejectCancelsWaitingRun(t *testing.T) {
	f := newFixture(t, approvalsPlan)
	ctx := ctxFor(t)
	res, err := f.svc.Start(ctx, release.StartOptions{Plan: f.in(), Release: "1.0", Ticket: "CHG-3", By: cli("alice")})
	if err != nil {
		t.Fatal(err)
	}
	d, err := f.svc.Reject(ctx, release.DecideOptions{Run: f.ref(res.Run.ID), By: api("bob"), Comment: "no"})
	if err != nil || !d.Cancelled || d.Run.State != store.StateAborted {
		t.Fatalf("reject: %v, %+v", err, d)
	}
}

func TestReviewNoGoChangesNothing(t *testing.T) {
	f := newFixture(t, approvalsPlan)
	ctx := ctxFor(t)
	rep, err := f.svc.Review(ctx, release.ReviewOptions{Plan: f.in(), Release: "1.0", By: cli("alice")})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Go || rep.WaitOnly {
		t.Fatalf("review without a ticket: go %v, wait only %v", rep.Go, rep.WaitOnly)
	}
	// A start with the same no-go is refused with the report; nothing is
	// recorded, no host is touched.
	_, err = f.svc.Start(ctx, release.StartOptions{Plan: f.in(), Release: "1.0", By: cli("alice")})
	wantKind(t, err, release.NoGo)
	var re *release.Error
	if !errors.As(err, &re) || re.Report == nil || re.Report.Go {
		t.Fatalf("no-go error without its report: %v", err)
	}
	if runs := f.runs(); len(runs) != 0 {
		t.Errorf("a no-go recorded runs: %v", runs)
	}
	if f.current("h1") != "" || f.current("h2") != "" {
		t.Error("a no-go touched a host")
	}
}

func TestTypedErrors(t *testing.T) {
	ctx := ctxFor(t)
	t.Run("invalid values are refused before anything is opened", func(t *testing.T) {
		f := newFixture(t, basePlan)
		for name, o := range map[string]release.StartOptions{
			"release":  {Release: "1.0;rm -rf /", By: cli("carol")},
			"ticket":   {Release: "1.0", Ticket: "CHG-1\x1b[2J", By: cli("carol")},
			"env":      {Release: "1.0", By: cli("carol"), Plan: release.PlanInput{Env: "prod$(id)"}},
			"set":      {Release: "1.0", By: cli("carol"), Plan: release.PlanInput{Set: []string{"x=a\x00b"}}},
			"api name": {Release: "1.0", By: api("bob smith")},
			"nobody":   {Release: "1.0"},
		} {
			o.Plan.File = f.file
			_, err := f.svc.Start(ctx, o)
			if release.KindOf(err) != release.Invalid {
				t.Errorf("%s: %v, want invalid", name, err)
			}
		}
		_, err := f.svc.Approve(ctx, release.DecideOptions{Run: f.ref("r-1"), By: cli("bob"), Comment: "a\x00b"})
		wantKind(t, err, release.Invalid)
		if f.storeExists() {
			t.Error("refused values opened (created) the store")
		}
	})
	t.Run("invalid plan carries its diagnostics", func(t *testing.T) {
		f := newFixture(t, "golive: 1\nname: x\nstages: [{name: s, on: nowhere, steps: []}]\nbogus: 1\n")
		_, err := f.svc.Start(ctx, release.StartOptions{Plan: f.in(), Release: "1.0", By: cli("carol")})
		var re *release.Error
		if !errors.As(err, &re) || re.Kind != release.Invalid || !re.Diags.HasErrors() || len(f.diag) == 0 {
			t.Fatalf("invalid plan: %v (%+v)", err, re)
		}
	})
	t.Run("not found", func(t *testing.T) {
		f := newFixture(t, basePlan)
		if _, err := f.svc.Start(ctx, release.StartOptions{Plan: f.in(), Release: "1.0", By: cli("carol")}); err != nil {
			t.Fatal(err)
		}
		_, err := f.svc.Status(ctx, f.ref("r-nope"))
		wantKind(t, err, release.NotFound)
	})
	t.Run("locked", func(t *testing.T) {
		f := newFixture(t, approvalsPlan)
		res, err := f.svc.Start(ctx, release.StartOptions{Plan: f.in(), Release: "1.0", Ticket: "CHG-4", By: cli("alice")})
		if err != nil {
			t.Fatal(err)
		}
		// Another controller holds the environment for the waiting run.
		st, err := sqlite.Open(ctx, filepath.Join(f.dir, ".golive", "state.db"))
		if err != nil {
			t.Fatal(err)
		}
		holder := store.Holder{PID: 1, Hostname: "elsewhere"}
		if _, err := st.AcquireLock(ctx, store.Lock{Plan: "core", RunID: res.Run.ID, Holder: holder, Requester: "alice"}); err != nil {
			t.Fatal(err)
		}
		st.Close()
		// The same plan without approvals: its review says go.
		if err := os.WriteFile(f.file, []byte(basePlan), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err = f.svc.Start(ctx, release.StartOptions{Plan: f.in(), Release: "1.1", By: cli("alice")})
		var le *release.LockedError
		if !errors.As(err, &le) || le.Holder == nil || le.Holder.ID != res.Run.ID || le.Lock.Holder != holder {
			t.Fatalf("start while locked: %v", err)
		}
	})
	t.Run("plan changed since the run was created", func(t *testing.T) {
		f := newFixture(t, approvalsPlan)
		res, err := f.svc.Start(ctx, release.StartOptions{Plan: f.in(), Release: "1.0", Ticket: "CHG-6", By: cli("alice")})
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f.file, []byte(approvalsPlan+"description: changed\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err = f.svc.Approve(ctx, release.DecideOptions{Run: f.ref(res.Run.ID), By: cli("bob")})
		wantKind(t, err, release.NoGo)
		_, err = f.svc.Resume(ctx, release.ResumeOptions{Run: f.ref(res.Run.ID), By: cli("bob")})
		wantKind(t, err, release.NoGo)
	})
}

func TestForceAbortReleasesLock(t *testing.T) {
	f := newFixture(t, approvalsPlan)
	ctx := ctxFor(t)
	res, err := f.svc.Start(ctx, release.StartOptions{Plan: f.in(), Release: "1.0", Ticket: "CHG-7", By: cli("alice")})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = f.svc.ForceAbort(ctx, release.ForceAbortOptions{Run: f.ref(res.Run.ID), By: cli("bob")})
	wantKind(t, err, release.Invalid) // a reason is required
	was, now, err := f.svc.ForceAbort(ctx, release.ForceAbortOptions{Run: f.ref(res.Run.ID), By: api("bob"), Reason: "stuck"})
	if err != nil || was.State != store.StateWaiting || now.State != store.StateAborted {
		t.Fatalf("force abort: %v, %s -> %s", err, was.State, now.State)
	}
	st, err := f.svc.Status(ctx, f.ref(res.Run.ID))
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range st.Events {
		if ev.Action == "force_aborted" && ev.ActorIdentity().Token != "bob" {
			t.Errorf("force abort journaled as %+v", ev.ActorIdentity())
		}
	}
}

func TestRehearse(t *testing.T) {
	f := newFixture(t, basePlan)
	ctx := ctxFor(t)
	if _, err := f.svc.Start(ctx, release.StartOptions{Plan: f.in(), Release: "1.0", By: cli("carol")}); err != nil {
		t.Fatal(err)
	}
	var notes []string
	res, err := f.svc.Rehearse(ctx, release.StartOptions{Plan: f.in(), Release: "2.0", By: cli("carol"),
		Watch: release.Watch{Note: func(s string) { notes = append(notes, s) }}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Rehearsal == nil || !res.Rehearsal.Clean || res.Run.State != store.StateBackedOut {
		t.Fatalf("rehearsal %+v, run %s", res.Rehearsal, res.Run.State)
	}
	if f.current("h1") != "1.0" || len(notes) == 0 {
		t.Errorf("h1 on %q after the rehearsal; notes %q", f.current("h1"), notes)
	}
}

// TestWaitingRunStartsWhenItsWindowOpens: a run created while its window
// is closed waits; once the window opens on the service's clock, resuming
// it (what `golive serve` does when Report.NextOpen is reached) reviews it
// again and starts it.
func TestWaitingRunStartsWhenItsWindowOpens(t *testing.T) {
	f := newFixture(t, basePlan+`window:
  timezone: UTC
  open:
    - {from: "10:00", to: "11:00"}
`)
	ctx := ctxFor(t)
	fake := clock.NewFake(time.Date(2026, 11, 30, 9, 30, 0, 0, time.UTC))
	f.svc.Clock = fake
	res, err := f.svc.Start(ctx, release.StartOptions{Plan: f.in(), Release: "1.0", By: api("ci")})
	if err != nil {
		t.Fatal(err)
	}
	if res.Run.State != store.StateWaiting || res.Review.NextOpen == nil || !res.Review.NextOpen.Equal(time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)) {
		t.Fatalf("run %s, next open %v; want waiting until 10:00", res.Run.State, res.Review.NextOpen)
	}
	res, err = f.svc.Resume(ctx, release.ResumeOptions{Run: f.ref(res.Run.ID), By: api("ci")})
	if err != nil || res.Run.State != store.StateWaiting || f.current("h1") != "" {
		t.Fatalf("resume before the window opens: %v, %+v", err, res)
	}
	fake.Advance(31 * time.Minute)
	res, err = f.svc.Resume(ctx, release.ResumeOptions{Run: f.ref(res.Run.ID), By: api("ci")})
	if err != nil {
		t.Fatal(err)
	}
	if res.Run.State != store.StateSucceeded || f.current("h2") != "1.0" {
		t.Fatalf("after the window opened: %s, h2 on %q", res.Run.State, f.current("h2"))
	}
}

// TestOverridesGoWithTheRun: the overrides a run was started with are
// journaled and used again when it is resumed without them; other ones
// are refused, since the run's approvals were for these.
func TestOverridesGoWithTheRun(t *testing.T) {
	planText := strings.Replace(approvalsPlan, "stages:\n", `vars:
  motd: {value: plain, settable: '^[a-z]+$'}
stages:
`, 1)
	planText = strings.Replace(planText, `echo "$GOLIVE_RELEASE" > current`, `echo "$GOLIVE_RELEASE" > current; echo ${{ shell(vars.motd) }} > motd`, 1)
	f := newFixture(t, planText)
	ctx := ctxFor(t)
	in := f.in()
	in.Set = []string{"motd=hello"}
	res, err := f.svc.Start(ctx, release.StartOptions{Plan: in, Release: "1.0", Ticket: "CHG-8", By: cli("alice")})
	if err != nil || res.Run.State != store.StateWaiting {
		t.Fatalf("start: %v, %+v", err, res)
	}
	if _, err := f.svc.Approve(ctx, release.DecideOptions{Run: f.ref(res.Run.ID), By: api("bob")}); err != nil {
		t.Fatal(err)
	}
	other := f.ref(res.Run.ID)
	other.Plan.Set = []string{"motd=other"}
	_, err = f.svc.Resume(ctx, release.ResumeOptions{Run: other, By: cli("alice")})
	wantKind(t, err, release.NoGo)
	res, err = f.svc.Resume(ctx, release.ResumeOptions{Run: f.ref(res.Run.ID), By: cli("alice")})
	if err != nil || res.Run.State != store.StateSucceeded {
		t.Fatalf("resume: %v, %+v", err, res)
	}
	b, _ := os.ReadFile(filepath.Join(f.dir, "hosts", "h1", "motd"))
	if strings.TrimSpace(string(b)) != "hello" {
		t.Errorf("motd on h1 = %q, want the run's own override hello", b)
	}
}

func TestRunsNewestFirst(t *testing.T) {
	f := newFixture(t, basePlan)
	ctx := ctxFor(t)
	for _, v := range []string{"1.0", "2.0-bad", "1.1"} {
		if _, err := f.svc.Start(ctx, release.StartOptions{Plan: f.in(), Release: v, By: cli("carol")}); err != nil {
			t.Fatal(err)
		}
	}
	runs, err := f.svc.Runs(ctx, release.RunsOptions{Plan: f.in(), States: []store.State{store.StateSucceeded}})
	if err != nil || len(runs) != 2 || runs[0].Release != "1.1" || runs[1].Release != "1.0" {
		t.Fatalf("succeeded runs: %v, %+v", err, runs)
	}
	last, err := f.svc.Run(ctx, f.ref("last"))
	if err != nil || last.Release != "1.1" {
		t.Fatalf("last: %v, %+v", err, last)
	}
	// Given the plan's name (a server read the plan already), the runs
	// are listed by it without reading the file, which may be gone.
	named := runs[0].Plan
	if err := os.Rename(f.file, f.file+".away"); err != nil {
		t.Fatal(err)
	}
	if runs, err := f.svc.Runs(ctx, release.RunsOptions{Plan: f.in(), Name: named}); err != nil || len(runs) != 3 {
		t.Fatalf("by name %q: %v, %d runs", named, err, len(runs))
	}
	if runs, err := f.svc.Runs(ctx, release.RunsOptions{Plan: f.in(), Name: "other"}); err != nil || len(runs) != 0 {
		t.Fatalf("by another name: %v, %+v", err, runs)
	}
}

// TestAbortOfRunExecutedElsewhere: a run another controller executes is
// asked to stop (journaled with who asked); a follower whose controller
// goes away without finishing gets an Incomplete error.
func TestAbortOfRunExecutedElsewhere(t *testing.T) {
	f := newFixture(t, approvalsPlan)
	ctx := ctxFor(t)
	res, err := f.svc.Start(ctx, release.StartOptions{Plan: f.in(), Release: "1.0", Ticket: "CHG-9", By: cli("alice")})
	if err != nil {
		t.Fatal(err)
	}
	id := res.Run.ID
	st, err := sqlite.Open(ctx, filepath.Join(f.dir, ".golive", "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.UpdateRunState(ctx, id, []store.State{store.StateWaiting}, store.StateRunning, "released elsewhere"); err != nil {
		t.Fatal(err)
	}
	holder := store.Holder{PID: 4242, Hostname: "controller-elsewhere"}
	if _, err := st.AcquireLock(ctx, store.Lock{Plan: "core", RunID: id, Holder: holder, Requester: "alice"}); err != nil {
		t.Fatal(err)
	}
	ab, err := f.svc.Abort(ctx, release.AbortOptions{Run: f.ref(id), By: api("bob"), Reason: "stop"})
	if err != nil || !ab.Requested || ab.Holder != holder || ab.Run.State != store.StateRunning {
		t.Fatalf("abort without follow: %v, %+v", err, ab)
	}
	events, err := st.Events(ctx, id, 0)
	if err != nil {
		t.Fatal(err)
	}
	last := events[len(events)-1]
	if last.Action != "abort_requested" || last.ActorIdentity().Token != "bob" || last.Message != "stop" {
		t.Errorf("abort journaled as %+v", last)
	}
	// The controller dies without finishing once the second abort is
	// asked (the follower has seen its lock by then): its lock goes.
	go func() {
		for ctx.Err() == nil {
			evs, _ := st.Events(ctx, id, last.Seq)
			if len(evs) > 0 {
				st.ReleaseLock(ctx, "core", "", id)
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	_, err = f.svc.Abort(ctx, release.AbortOptions{Run: f.ref(id), By: api("bob"), Follow: true})
	wantKind(t, err, release.Incomplete)
}
