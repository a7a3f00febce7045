package engine_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golive-dev/golive/internal/engine"
	"github.com/golive-dev/golive/internal/promtest"
	"github.com/golive-dev/golive/internal/store"
)

// compareHosts are the fleet of the compare tests: local hosts with
// addresses, as an inventory of real machines would give them.
var compareHosts = []promtest.FleetHost{
	{Name: "web-1", Address: "10.0.1.1"}, {Name: "web-2", Address: "10.0.1.2"}, {Name: "web-3", Address: "10.0.1.3"},
}

// newCompareFixture is a fixture with compareHosts whose step "deploy"
// writes the release into the host's file "release" (the backout writes
// 1.0 back) and whose step "bake" waits for @ROOT@/go, so the batch stays
// in progress while the monitor judges it.
func newCompareFixture(t *testing.T, monitor string) *fixture {
	t.Helper()
	root := t.TempDir()
	var b strings.Builder
	b.WriteString("golive: 1\nname: t\ntargets:\n  defaults: {transport: local}\n  hosts:\n")
	for _, h := range compareHosts {
		dir := filepath.Join(root, h.Name)
		fmt.Fprintf(&b, "    %s: {dir: %s, address: %s, roles: [web]}\n", h.Name, dir, h.Address)
		os.MkdirAll(dir, 0o755)
		os.WriteFile(filepath.Join(dir, "release"), []byte("1.0\n"), 0o644)
	}
	b.WriteString(strings.ReplaceAll(`stages:
  - name: web
    on: web
    strategy: {canary: 1, batch: 1}
    steps:
      - name: deploy
        run: 'echo $GOLIVE_RELEASE > release; echo deploy >> log'
        backout: 'echo 1.0 > release; echo undo >> log'
      - name: bake
        run: 'for i in $(seq 1200); do test -f @ROOT@/go && exit 0; sleep 0.05; done; exit 1'
monitors:
`+monitor, "@ROOT@", root))
	f := &fixture{t: t, root: root, dbPath: filepath.Join(root, "state.db"), file: filepath.Join(root, "golive.yaml")}
	if err := os.WriteFile(f.file, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	f.build(nil)
	f.st = f.openStore()
	return f
}

// releaseOf reads the release a host's "service" runs.
func (f *fixture) releaseOf(host string) string {
	data, _ := os.ReadFile(filepath.Join(f.hostDir(host), "release"))
	return strings.TrimSpace(string(data))
}

func (f *fixture) startBackground(e *engine.Engine) <-chan result {
	ch := make(chan result, 1)
	go func() {
		out, err := e.Start(context.Background(), engine.Request{Rollout: f.ro, Requester: "tester"})
		ch <- result{out, err}
	}()
	return ch
}

func (f *fixture) within(ch <-chan result, d time.Duration, what string) *engine.Outcome {
	f.t.Helper()
	select {
	case r := <-ch:
		if r.err != nil {
			f.t.Fatalf("%s: %v", what, r.err)
		}
		return r.out
	case <-time.After(d):
		os.WriteFile(filepath.Join(f.root, "go"), nil, 0o644) // let the run end
		f.t.Fatalf("%s: the run did not stop within %s", what, d)
	}
	return nil
}

var ratioRe = regexp.MustCompile(`= ratio ([0-9.e+]+) > max_ratio 2.5`)

// TestCompareMonitorFailsOnThreeTimesTheBaseline: a real Prometheus
// scrapes one exporter per host. The new release fails 3% of requests
// where the old one fails 1%. The compare monitor sees the canary at 3×
// the untouched hosts, fails twice in a row, and the run is backed out
// before any other host is touched; the journal and the reason carry
// both values.
func TestCompareMonitorFailsOnThreeTimesTheBaseline(t *testing.T) {
	var fp atomic.Pointer[fixture] // set once the fixture exists
	fleet := promtest.StartFleet(t, compareHosts, func(host string) (float64, bool) {
		if f := fp.Load(); f != nil && f.releaseOf(host) == "2.0" {
			return 0.03, true
		}
		return 0.01, true
	})
	f := newCompareFixture(t, `  - name: error ratio
    prometheus:
      url: `+fleet.URL+`
      query: 'sum(rate(golive_test_errors_total{addr=~"${{ hosts.regex }}"}[4s])) / sum(rate(golive_test_requests_total{addr=~"${{ hosts.regex }}"}[4s]))'
    compare: {baseline: untouched, max_ratio: 2.5, min_samples: 2}
    interval: 300ms
    failure_limit: 2
`)
	fp.Store(f)
	if err := fleet.WaitFor(`count(rate(golive_test_requests_total[4s]) > 0) == 3`, 30*time.Second); err != nil { // every host has a rate
		t.Fatal(err)
	}
	out := f.within(f.startBackground(f.engine()), 60*time.Second, "3x the baseline")
	if out.Run.State != store.StateBackedOut { // show what the monitor saw
		for _, ev := range filter(f.events(out.Run.ID), match{kind: store.KindMonitor}) {
			t.Logf("%s %s: %s", ev.Time.Format("15:04:05.000"), ev.Action, ev.Message)
		}
	}
	f.wantState(out, store.StateBackedOut)
	if !strings.Contains(out.Run.Reason, `monitor "error ratio" failed 2 time(s) in a row: batch web/1: canary 0.0`) ||
		!strings.Contains(out.Run.Reason, "(means of the last 2 samples); now canary 0.0") || !strings.Contains(out.Run.Reason, "[web-2 web-3]") {
		t.Errorf("reason = %q", out.Run.Reason)
	}
	m := ratioRe.FindStringSubmatch(out.Run.Reason)
	if m == nil {
		t.Fatalf("no ratio in the reason %q", out.Run.Reason)
	}
	if r, _ := strconv.ParseFloat(m[1], 64); r <= 2.5 || r > 3.5 {
		t.Errorf("ratio %g; want the canary's 3x the baseline (above 2.5, at most 3.5)", r)
	}
	equal(t, "web-1 log", f.log("web-1"), []string{"deploy", "undo"})
	equal(t, "web-2 log", f.log("web-2"), nil)
	if got := f.releaseOf("web-1"); got != "1.0" {
		t.Errorf("web-1 runs %s after the backout, want 1.0", got)
	}
	failed := filter(f.events(out.Run.ID), match{kind: store.KindMonitor, action: store.ActionFailed})
	if len(failed) != 2 {
		t.Fatalf("%d failed evaluations journaled, want 2", len(failed))
	}
	for _, ev := range failed {
		if !strings.Contains(ev.Message, "canary 0.0") || !strings.Contains(ev.Message, "vs baseline 0.0") || ev.Stage != "web" || ev.Batch != 1 {
			t.Errorf("journaled evaluation without both values: %+v", ev)
		}
	}
}

// TestCompareMonitorInconclusivePausesThenResumes: the canary's exporter
// says nothing, so every evaluation of batch 1 is inconclusive; after
// inconclusive_limit the run pauses instead of failing. Once the host
// reports, resume continues and the monitor passes.
func TestCompareMonitorInconclusivePausesThenResumes(t *testing.T) {
	var silent atomic.Bool
	silent.Store(true)
	fleet := promtest.StartFleet(t, compareHosts, func(host string) (float64, bool) {
		return 0.01, host != "web-1" || !silent.Load()
	})
	f := newCompareFixture(t, `  - name: errors
    prometheus:
      url: `+fleet.URL+`
      query: 'sum(rate(golive_test_errors_total{host=~"${{ hosts.names_regex }}"}[4s]))'
    compare: {baseline: untouched, max_ratio: 2}
    interval: 300ms
    inconclusive_limit: 2
`)
	if err := fleet.WaitFor(`count(rate(golive_test_requests_total[4s]) > 0) == 2`, 30*time.Second); err != nil { // web-1 is silent
		t.Fatal(err)
	}
	out := f.within(f.startBackground(f.engine()), 60*time.Second, "no data")
	f.wantState(out, store.StatePaused)
	if !strings.Contains(out.Run.Reason, `monitor "errors": 2 inconclusive evaluation(s) in a row`) ||
		!strings.Contains(out.Run.Reason, "[web-1]: prometheus query returned no data") {
		t.Errorf("reason = %q", out.Run.Reason)
	}
	evs := f.events(out.Run.ID)
	if n := count(evs, match{kind: store.KindMonitor, action: engine.ActionInconclusive}); n != 2 {
		t.Errorf("%d inconclusive evaluations journaled, want 2", n)
	}
	if n := count(evs, match{kind: store.KindMonitor, action: store.ActionFailed}); n != 0 {
		t.Errorf("%d failed evaluations; no data must not count as a failure", n)
	}
	equal(t, "web-2 log", f.log("web-2"), nil)

	silent.Store(false) // web-1 reports again
	if err := fleet.WaitFor(`sum(rate(golive_test_errors_total{host="web-1"}[4s])) > 0`, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	run, err := f.st.GetRun(context.Background(), out.Run.ID)
	if err != nil {
		t.Fatal(err)
	}
	after := evs[len(evs)-1].Seq
	ch := make(chan result, 1)
	go func() {
		out, err := f.engine().Resume(context.Background(), run, f.ro)
		ch <- result{out, err}
	}()
	deadline := time.Now().Add(30 * time.Second)
	for count(f.eventsAfter(out.Run.ID, after), match{kind: store.KindMonitor, action: store.ActionPassed}) == 0 {
		if time.Now().After(deadline) {
			os.WriteFile(filepath.Join(f.root, "go"), nil, 0o644)
			t.Fatal("no passing evaluation after resume")
		}
		time.Sleep(100 * time.Millisecond)
	}
	os.WriteFile(filepath.Join(f.root, "go"), nil, 0o644)
	out = f.within(ch, 60*time.Second, "resume")
	f.wantState(out, store.StateSucceeded)
	for _, h := range compareHosts {
		if got := f.releaseOf(h.Name); got != "2.0" {
			t.Errorf("%s runs %s, want 2.0", h.Name, got)
		}
	}
}

func (f *fixture) eventsAfter(runID string, seq int64) []store.Event {
	f.t.Helper()
	evs, err := f.st.Events(context.Background(), runID, seq)
	if err != nil {
		f.t.Fatal(err)
	}
	return evs
}
