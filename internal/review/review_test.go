package review_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/golive-dev/golive/internal/artifact"
	"github.com/golive-dev/golive/internal/clock"
	"github.com/golive-dev/golive/internal/engine"
	"github.com/golive-dev/golive/internal/load"
	"github.com/golive-dev/golive/internal/review"
	"github.com/golive-dev/golive/internal/rollout"
	"github.com/golive-dev/golive/internal/store"
	"github.com/golive-dev/golive/internal/store/sqlite"
	"github.com/golive-dev/golive/internal/transport"
	"github.com/golive-dev/golive/internal/transport/local"
	"github.com/golive-dev/golive/internal/ui"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// now is Monday 2026-03-02 10:00 UTC (11:00 in Berlin).
var now = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

const basePlan = `golive: 1
name: shop
@TOP@
targets:
  defaults: {transport: local}
  hosts:
    h1: {dir: @ROOT@/h1, roles: [web]}
    h2: {dir: @ROOT@/h2, roles: [web]}
release:
  artifacts:
    app:
      path: dist/app-${{ release.version }}.tar
      sha256: "@SHA@"
controls:
  integrity: required
  backout: required
@CONTROLS@
@WINDOW@
preflight:
  - name: ready file present
    on: web
    run: 'echo "looking on $GOLIVE_HOST"; test -f ready || { echo "no ready file on $GOLIVE_HOST"; exit 1; }'
    timeout: 5s
    interval: 2s
stages:
  - name: web
    on: web
    steps:
      - name: upload
        upload:
          artifact: app
          to: "releases/${{ release.version }}.tar"
        backout: 'rm -f releases/${{ release.version }}.tar'
      - name: switch
        run: 'echo ${{ release.version }} > current'
        backout: 'echo ${{ release.previous }} > current'
verify:
  - {name: serves, run: 'true', local: true}
@VERIFY@
`

// tc is one review: the plan's parts, the input and the store's state.
type tc struct {
	name     string
	top      string // top-level lines (owner, contacts, ...)
	controls string // lines under controls:
	window   string // a window: block
	verify   string // more verify checks
	badSHA   bool
	noReady  string // a host without the ready file (preflight fails there)
	ticket   string
	prep     func(t *testing.T, r *rig) // store setup before the review
	run      func(t *testing.T, r *rig) *store.Run
}

// rig is one plan with local hosts h1, h2 and a SQLite store.
type rig struct {
	root, file, hash string
	st               *sqlite.Store
	plan             *load.Result
	ro               *rollout.Rollout
}

func newRig(t *testing.T, c tc) *rig {
	t.Helper()
	root := t.TempDir()
	r := &rig{root: root, file: filepath.Join(root, "golive.yaml")}
	art := []byte("the app, release 2.0\n")
	mustWrite(t, filepath.Join(root, "dist", "app-2.0.tar"), art)
	sum := sha256.Sum256(art)
	sha := hex.EncodeToString(sum[:])
	if c.badSHA {
		sha = strings.Repeat("ab", 32)
	}
	for _, h := range []string{"h1", "h2"} {
		mustWrite(t, filepath.Join(root, h, "current"), []byte("1.0\n"))
		mustWrite(t, filepath.Join(root, h, "releases", "1.0.tar"), []byte("old\n"))
		if h != c.noReady {
			mustWrite(t, filepath.Join(root, h, "ready"), nil)
		}
	}
	text := strings.NewReplacer("@ROOT@", root, "@SHA@", sha, "@CONTROLS@", c.controls,
		"@WINDOW@", c.window, "@VERIFY@", c.verify, "@TOP@", c.top).Replace(basePlan)
	mustWrite(t, r.file, []byte(text))
	res, err := load.Load(load.Options{File: r.file})
	if err != nil || res.Diags.HasErrors() {
		t.Fatalf("load: %v %v", err, res.Diags.Errors())
	}
	r.plan = res
	if r.hash, err = load.Hash(r.file); err != nil {
		t.Fatal(err)
	}
	if r.ro, err = rollout.Build(rollout.Input{Plan: res.Plan, Release: "2.0", Previous: "1.0"}); err != nil {
		t.Fatal(err)
	}
	if r.st, err = sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "state.db")); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.st.Close() })
	return r
}

func mustWrite(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func (r *rig) engine(mod ...func(*engine.Options)) *engine.Engine {
	o := engine.Options{Store: r.st, Transports: map[string]transport.Transport{"local": &local.Transport{}},
		PlanDir: r.root, PollEvery: time.Hour}
	for _, m := range mod {
		m(&o)
	}
	return engine.New(o)
}

func (r *rig) input(t *testing.T, ticket string, run *store.Run) review.Input {
	arts, artErr := artifact.Verify(r.ro, func(p string) string { return load.Path(r.plan.Plan, p) })
	return review.Input{Plan: r.plan.Plan, Rollout: r.ro, Store: r.st, Engine: r.engine(), Artifacts: arts, ArtErr: artErr,
		Ticket: ticket, Requester: "rita", PlanHash: r.hash, Now: now, Run: run}
}

// snapshot is every file and directory under the hosts' directories.
func snapshot(t *testing.T, root string) string {
	t.Helper()
	var b strings.Builder
	for _, h := range []string{"h1", "h2"} {
		err := filepath.WalkDir(filepath.Join(root, h), func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			fmt.Fprintf(&b, "%s %v %d", strings.TrimPrefix(p, root), info.Mode(), info.ModTime().UnixNano())
			if !d.IsDir() {
				data, err := os.ReadFile(p)
				if err != nil {
					return err
				}
				fmt.Fprintf(&b, " %q", data)
			}
			b.WriteByte('\n')
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return b.String()
}

var (
	runID    = regexp.MustCompile(`r-\d{8}-\d{6}-[0-9a-f]{4}`)
	attempts = regexp.MustCompile(`\(\d+ attempts?\)`) // how many fit in a timeout depends on the machine
)

func (r *rig) normalize(s string) string {
	s = strings.ReplaceAll(s, r.root, "$ROOT")
	s = strings.ReplaceAll(s, r.hash[:12], "HASH")
	s = attempts.ReplaceAllString(s, "(N attempts)")
	return runID.ReplaceAllString(s, "r-ID")
}

// otherRun records a run of this plan in env (its events and lock are up
// to the caller).
func (r *rig) otherRun(t *testing.T, env string, state store.State, hash string) store.Run {
	t.Helper()
	run, err := r.st.CreateRun(context.Background(), store.Run{Plan: "shop", Env: env, Release: "2.0", PreviousRelease: "1.0",
		State: state, Requester: "sam", PlanHash: hash})
	if err != nil {
		t.Fatal(err)
	}
	return run
}

func (r *rig) event(t *testing.T, runID string, kind store.Kind, action store.Action, msg string) {
	t.Helper()
	if _, err := r.st.AppendEvent(context.Background(), store.Event{RunID: runID, Kind: kind, Action: action, Message: msg}); err != nil {
		t.Fatal(err)
	}
}

const berlinWindow = `window:
  timezone: Europe/Berlin
  open:
    - {days: [mon, tue, wed, thu, fri], from: "20:00", to: "23:30"}
`

// TestReviewGolden renders the report of a go and of each kind of no-go
// and compares it with testdata/NAME.golden (go test -update rewrites
// them). No review changes a target, creates a run or writes a journal.
func TestReviewGolden(t *testing.T) {
	cases := []tc{
		{name: "go"},
		{name: "artifact_sha_mismatch", badSHA: true},
		{name: "preflight_fails_on_one_host", noReady: "h2"},
		{name: "window_closed", window: berlinWindow},
		{name: "freeze", window: `window:
  timezone: Europe/Berlin
  freeze:
    - {from: 2026-03-01T00:00, to: 2026-03-09T00:00, reason: spring sale freeze}
`},
		{name: "ticket_missing", controls: "  ticket: {required: true, pattern: '^CHG-[0-9]+$'}"},
		{name: "ticket_pattern_mismatch", controls: "  ticket: {required: true, pattern: '^CHG-[0-9]+$'}", ticket: "JIRA-12"},
		{name: "ticket_ok", controls: "  ticket: {required: true, pattern: '^CHG-[0-9]+$'}", ticket: "CHG-12"},
		{name: "approvals_missing", controls: "  approvals: {required: 2, approvers: [alice, bob], allow_self: false}"},
		{name: "approvals_partial", controls: "  approvals: {required: 2, approvers: [alice, bob, sam], allow_self: false}",
			run: func(t *testing.T, r *rig) *store.Run {
				run := r.otherRun(t, "", store.StateWaiting, r.hash)
				for _, a := range []store.Approval{
					{Approver: "alice", PlanHash: r.hash},
					{Approver: "sam", PlanHash: r.hash},     // the requester, allow_self false
					{Approver: "mallory", PlanHash: r.hash}, // not an approver
					{Approver: "bob", PlanHash: "0123456789abcdef"},
				} {
					a.RunID, a.Decision, a.Release = run.ID, store.DecisionApprove, "2.0"
					a.Via, a.OSUser = store.ViaCLI, a.Approver // each at their own OS account
					if _, err := r.st.AddApproval(context.Background(), a); err != nil {
						t.Fatal(err)
					}
				}
				return &run
			}},
		{name: "rehearsal_missing", controls: "  rehearsed_in: staging"},
		{name: "rehearsal_other_plan", controls: "  rehearsed_in: staging", prep: func(t *testing.T, r *rig) {
			run := r.otherRun(t, "staging", store.StateBackedOut, "0123456789abcdef")
			r.event(t, run.ID, store.KindRun, store.ActionPassed, "verify passed")
		}},
		{name: "rehearsal_satisfied", controls: "  rehearsed_in: staging", prep: func(t *testing.T, r *rig) {
			run := r.otherRun(t, "staging", store.StateBackedOut, r.hash)
			r.event(t, run.ID, store.KindRun, store.ActionPassed, "verify passed")
			// What `golive rehearse` journals after a clean rehearsal.
			r.event(t, run.ID, "rehearsal", store.ActionPassed, "rehearsal clean")
		}},
		// A plan that meets the deployment-plan checklist: 7/7, go.
		{name: "quality_complete", top: `owner: web-team
contacts: [oncall-web@example.com]
success_criteria: "both hosts serve 2.0"`,
			controls: "  approvals: {required: 1, approvers: [alice, bob]}",
			window: `window:
  timezone: Europe/Berlin
  open:
    - {days: [mon], from: "09:00", to: "12:00"}
`,
			prep: func(t *testing.T, r *rig) {
				run := r.otherRun(t, "", store.StateBackedOut, r.hash)
				r.event(t, run.ID, "rehearsal", store.ActionPassed, "rehearsal clean")
			},
			run: func(t *testing.T, r *rig) *store.Run {
				run := r.otherRun(t, "", store.StateWaiting, r.hash)
				a := store.Approval{RunID: run.ID, Approver: "alice", OSUser: "alice", PlanHash: r.hash, Release: "2.0",
					Decision: store.DecisionApprove, Via: store.ViaCLI}
				if _, err := r.st.AddApproval(context.Background(), a); err != nil {
					t.Fatal(err)
				}
				return &run
			}},
		// Under controls.checklist: required what the checklist misses is a no-go.
		{name: "quality_required", controls: "  checklist: required"},
		{name: "locked_by_another_run", prep: func(t *testing.T, r *rig) {
			run := r.otherRun(t, "", store.StateRunning, r.hash)
			_, err := r.st.AcquireLock(context.Background(), store.Lock{Plan: "shop", RunID: run.ID, Requester: "sam",
				Holder: store.Holder{PID: 4242, Hostname: "ctl-1"}})
			if err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := newRig(t, c)
			ctx := context.Background()
			if c.prep != nil {
				c.prep(t, r)
			}
			var run *store.Run
			if c.run != nil {
				run = c.run(t, r)
			}
			before := snapshot(t, r.root)
			runsBefore, _ := r.st.ListRuns(ctx, store.RunFilter{})
			eventsBefore := allEvents(t, r.st, runsBefore)

			rep := review.Review(ctx, r.input(t, c.ticket, run))

			if after := snapshot(t, r.root); after != before {
				t.Errorf("review changed a target:\nbefore:\n%s\nafter:\n%s", before, after)
			}
			runsAfter, _ := r.st.ListRuns(ctx, store.RunFilter{})
			if len(runsAfter) != len(runsBefore) {
				t.Errorf("review created runs: %d before, %d after", len(runsBefore), len(runsAfter))
			}
			if ev := allEvents(t, r.st, runsAfter); ev != eventsBefore {
				t.Errorf("review wrote to a journal: %d events before, %d after", eventsBefore, ev)
			}
			var b bytes.Buffer
			ui.RenderReview(&b, rep, ui.Style{})
			got := r.normalize(b.String())
			golden := filepath.Join("testdata", c.name+".golden")
			if *update {
				mustWrite(t, golden, []byte(got))
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("missing golden file (go test -update): %v", err)
			}
			if got != string(want) {
				t.Errorf("report:\n%s\nwant (%s):\n%s", got, golden, want)
			}
			if wantGo := c.name == "go" || c.name == "ticket_ok" || c.name == "rehearsal_satisfied" || c.name == "quality_complete"; rep.Go != wantGo {
				t.Errorf("go = %v, want %v", rep.Go, wantGo)
			}
		})
	}
}

func allEvents(t *testing.T, st store.Store, runs []store.Run) int {
	t.Helper()
	n := 0
	for _, run := range runs {
		evs, err := st.Events(context.Background(), run.ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		n += len(evs)
	}
	return n
}

// TestReviewCreatesNoHostDirectory: a host whose directory does not exist
// yet (a first release) is not changed by the review either: preflight
// must not create it.
func TestReviewCreatesNoHostDirectory(t *testing.T) {
	r := newRig(t, tc{noReady: "h2"})
	if err := os.RemoveAll(filepath.Join(r.root, "h2")); err != nil {
		t.Fatal(err)
	}
	rep := review.Review(context.Background(), r.input(t, "", nil))
	if rep.Go {
		t.Fatal("go without h2's ready file")
	}
	if _, err := os.Stat(filepath.Join(r.root, "h2")); err == nil {
		t.Errorf("review created the directory of host h2")
	}
}

// TestRehearsalRejectedAtSignOffDoesNotCount: a staging run that verified
// and was then rejected at its sign-off (so backed out) did not succeed;
// it is no clean rehearsal for controls.rehearsed_in.
func TestRehearsalRejectedAtSignOffDoesNotCount(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, tc{controls: "  rehearsed_in: staging", verify: "  - confirm: {approvals: 1, timeout: 1h}"})
	fake := clock.NewFake(now)
	arts, err := artifact.Verify(r.ro, func(p string) string { return load.Path(r.plan.Plan, p) })
	if err != nil {
		t.Fatal(err)
	}
	e := r.engine(func(o *engine.Options) { o.Clock = fake; o.Heartbeat = 1000 * time.Hour; o.Artifacts = arts })
	out, err := e.Start(ctx, engine.Request{Rollout: r.ro, Requester: "sam", PlanHash: r.hash})
	if err != nil {
		t.Fatal(err)
	}
	if out.Run.State != store.StatePaused {
		t.Fatalf("state = %s (%s), want paused at the sign-off", out.Run.State, out.Run.Reason)
	}
	// (The run has no environment: Rehearsed is asked about env "", as it
	// would be about staging for a run there.)
	if _, err := r.st.AddApproval(ctx, store.Approval{RunID: out.Run.ID, Gate: "verify", Approver: "bob", Decision: store.DecisionReject,
		Comment: "numbers look off", PlanHash: r.hash, Release: "2.0", Time: fake.Now()}); err != nil {
		t.Fatal(err)
	}
	out, err = e.Resume(ctx, out.Run, r.ro)
	if err != nil {
		t.Fatal(err)
	}
	if out.Run.State != store.StateBackedOut {
		t.Fatalf("state = %s (%s), want backed_out", out.Run.State, out.Run.Reason)
	}
	ok, detail, err := review.Rehearsed(ctx, r.st, "shop", "", "2.0", r.hash)
	if err != nil {
		t.Fatal(err)
	}
	if ok {
		t.Errorf("a run rejected at its sign-off counts as a clean rehearsal: %s (run reason: %s)", detail, out.Run.Reason)
	}
}
