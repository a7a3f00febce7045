package engine_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golive-dev/golive/internal/promtest"
	"github.com/golive-dev/golive/internal/store"
)

// TestCompareEdges: a real Prometheus scrapes one exporter per host whose
// error ratio is fixed (web-1 2 %, the others 1 %; the query divides the
// counters themselves, so the values are exact: 2 errors per 100
// requests). Canary 1 then batches of 1, each batch held until the test
// lets it go. Two compare monitors judge the same query:
//   - "exact" (min_samples 1, max_ratio 2) sees batch 1 at exactly twice
//     the baseline: a ratio equal to max_ratio passes, and with one
//     sample the message speaks of no means;
//   - "pair" (min_samples 2): the samples of batch 1 do not count for
//     batch 2, whose first evaluation is inconclusive (1 of 2).
func TestCompareEdges(t *testing.T) {
	fleet := promtest.StartFleet(t, compareHosts, func(host string) (float64, bool) {
		if host == "web-1" {
			return 0.02, true
		}
		return 0.01, true
	})
	root := t.TempDir()
	var b strings.Builder
	b.WriteString("golive: 1\nname: t\ntargets:\n  defaults: {transport: local}\n  hosts:\n")
	for _, h := range compareHosts {
		fmt.Fprintf(&b, "    %s: {dir: %s, address: %s, roles: [web]}\n", h.Name, filepath.Join(root, h.Name), h.Address)
	}
	query := `sum(golive_test_errors_total{addr=~"${{ hosts.regex }}"}) / sum(golive_test_requests_total{addr=~"${{ hosts.regex }}"})`
	fmt.Fprintf(&b, `stages:
  - name: web
    on: web
    strategy: {canary: 1, batch: 1}
    steps:
      - name: bake
        run: 'for i in $(seq 1200); do test -f %[1]s/go-$GOLIVE_BATCH && exit 0; sleep 0.05; done; exit 1'
monitors:
  - name: exact
    prometheus: {url: %[2]s, query: '%[3]s'}
    compare: {baseline: untouched, max_ratio: 2, min_samples: 1}
    interval: 200ms
    failure_limit: 1
    inconclusive_limit: 100
  - name: pair
    prometheus: {url: %[2]s, query: '%[3]s'}
    compare: {baseline: untouched, max_ratio: 2, min_samples: 2}
    interval: 200ms
    failure_limit: 1
    inconclusive_limit: 100
`, root, fleet.URL, query)
	f := &fixture{t: t, root: root, dbPath: filepath.Join(root, "state.db"), file: filepath.Join(root, "golive.yaml")}
	if err := os.WriteFile(f.file, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	f.build(nil)
	f.st = f.openStore()
	if err := fleet.WaitFor(`count(golive_test_errors_total > 0) == 3`, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	ch := f.startBackground(f.engine())
	// monitorEvents waits for the run's monitor events of batch until
	// enough says they suffice (or the run ended), then lets the batch go.
	var runID string
	monitorEvents := func(batch int, enough func(exact, pair []store.Event) bool) (exact, pair []store.Event) {
		t.Helper()
		deadline := time.Now().Add(40 * time.Second)
		for {
			ended := false
			if runs, err := f.st.ListRuns(t.Context(), store.RunFilter{}); err == nil && len(runs) == 1 {
				runID, ended = runs[0].ID, runs[0].State.Terminal()
			}
			exact, pair = nil, nil
			if runID != "" {
				for _, ev := range f.events(runID) {
					if ev.Kind == store.KindMonitor && ev.Batch == batch {
						switch ev.Step {
						case "exact":
							exact = append(exact, ev)
						case "pair":
							pair = append(pair, ev)
						}
					}
				}
			}
			if enough(exact, pair) || ended || time.Now().After(deadline) {
				os.WriteFile(filepath.Join(root, fmt.Sprintf("go-%d", batch)), nil, 0o644)
				return exact, pair
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	exact, _ := monitorEvents(1, func(exact, _ []store.Event) bool { return len(exact) >= 2 })
	_, pair := monitorEvents(2, func(_, pair []store.Event) bool { return len(pair) >= 1 })
	os.WriteFile(filepath.Join(root, "go-3"), nil, 0o644)
	out := f.within(ch, 60*time.Second, "compare edges")
	f.wantState(out, store.StateSucceeded)

	want := "batch web/1: canary 0.02 / baseline 0.01 = ratio 2 <= max_ratio 2; now canary 0.02 [web-1] vs baseline 0.01 [web-2 web-3]"
	if len(exact) < 2 {
		t.Fatalf("monitor exact: %d events in batch 1, want 2 or more: %+v", len(exact), exact)
	}
	for _, ev := range exact {
		if ev.Action != store.ActionPassed || ev.Message != want {
			t.Errorf("monitor exact, batch 1: %s %q; want passed %q", ev.Action, ev.Message, want)
		}
	}
	if len(pair) == 0 || !strings.HasPrefix(pair[0].Message, "batch web/2: too few samples (1 of min_samples 2): inconclusive") {
		t.Errorf("monitor pair, batch 2: first events %+v; want inconclusive, 1 of min_samples 2", pair)
	}
}
