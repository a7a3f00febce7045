package timeline_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/golive-dev/golive/internal/store"
	"github.com/golive-dev/golive/internal/timeline"
)

// fleetRun runs a real release on n local hosts: a canary stage of one
// host, then stage web in batches of batch hosts where the hosts named in
// fail exit 3 in step switch (max_failed 1): the run fails and backs out.
func fleetRun(t testing.TB, n, batch int, fail ...string) []store.Event {
	hosts := []string{"canary-1/canary"}
	for i := 2; i <= n; i++ {
		hosts = append(hosts, fmt.Sprintf("web-%03d", i))
	}
	cond := "false"
	for _, h := range fail {
		cond += ` || [ "$GOLIVE_HOST" = ` + h + ` ]`
	}
	f := newFixture(t, hosts, fmt.Sprintf(`stages:
  - name: canary
    on: canary
    steps:
      - {name: fetch, run: 'true', backout: 'true'}
      - {name: switch, run: 'true', backout: 'true'}
  - name: web
    on: web
    strategy: {batch: %d, max_failed: 1}
    steps:
      - {name: fetch, run: 'true', backout: 'true'}
      - {name: switch, run: 'if %s; then exit 3; fi', backout: 'true'}
`, batch, cond))
	run := f.run()
	if run.State != store.StateBackedOut {
		t.Fatalf("state = %s (%s), want backed_out", run.State, run.Reason)
	}
	return f.events(run)
}

// Past MaxRows hosts, rows are batches: counts, failure ticks, backouts.
func TestAggregatedByBatch(t *testing.T) {
	t.Parallel()
	events := fleetRun(t, 91, 30, "web-040", "web-045")
	root, _ := render(t, events, timeline.Options{})
	if n := len(root.all(with("data-row", "host"))); n != 0 {
		t.Fatalf("host rows = %d past MaxRows, want none", n)
	}
	rows := root.all(with("data-row", "batch"))
	var got []string
	for _, r := range rows {
		stage, _ := r.attr("data-stage")
		b, _ := r.attr("data-batches")
		h, _ := r.attr("data-hosts")
		sum := r.all(with("data-summary", "*"))[0].shown()
		got = append(got, fmt.Sprintf("%s %s %s: %s", stage, b, h, sum))
	}
	// Batch 2 of web (web-032..061) failed on two hosts, which cancelled
	// the batch: hosts still working then were terminated (how many
	// depends on timing); batch 3 never started; everything that started
	// was backed out.
	want := []string{
		"canary 1-1 1: ✔ 1  ↺ 1",
		"web 1-1 30: ✔ 30  ↺ 30",
		"web 2-2 30: ✔ 28  ✘ 2  ↺ 30",
	}
	if len(got) == 3 {
		var ok, term int
		if _, err := fmt.Sscanf(got[2], "web 2-2 30: ✔ %d  ✘ 2  ⊘ %d  ↺ 30", &ok, &term); err == nil && ok+term == 28 {
			got[2] = want[2]
		}
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("batch rows:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	failedBar := rows[2].all(with("data-bar", "steps"))
	if len(failedBar) != 1 {
		t.Fatalf("steps bars of batch 2 = %d", len(failedBar))
	}
	if v, _ := failedBar[0].attr("data-failures"); v != "2" {
		t.Errorf("failures marked on batch 2 = %s, want 2", v)
	}
	if len(failedBar[0].all(with("data-tick", "*"))) == 0 {
		t.Errorf("no failure tick on batch 2")
	}
	// Each step has its bar: switch failed (on two hosts), fetch did not.
	var steps []string
	for _, n := range failedBar[0].all(with("data-step", "*")) {
		name, _ := n.attr("data-step")
		o, _ := n.attr("data-outcome")
		steps = append(steps, name+":"+o)
	}
	if strings.Join(steps, " ") != "fetch:ok switch:failed" {
		t.Errorf("step bars of batch 2 = %v", steps)
	}
	title := failedBar[0].title()
	for _, want := range []string{"web-040: step switch: exit 3", "web-045: step switch: exit 3", "2 failed", "30 backed out"} {
		if !strings.Contains(title, want) {
			t.Errorf("batch 2's tooltip lacks %q:\n%s", want, title)
		}
	}
	for _, r := range rows {
		if b := r.all(with("data-bar", "backout")); len(b) != 1 {
			t.Errorf("backout bars of a batch = %d, want 1", len(b))
		} else if o, _ := b[0].attr("data-outcome"); o != "backed_out" {
			t.Errorf("backout bar outcome = %s", o)
		}
	}
	if len(root.all(with("data-marker", "failed"))) != 1 {
		t.Errorf("the failure is not marked")
	}

	// With fewer rows allowed than batches, runs of batches share a row.
	root, _ = render(t, events, timeline.Options{MaxRows: 2})
	got = nil
	for _, r := range root.all(with("data-row", "batch")) {
		b, _ := r.attr("data-batches")
		h, _ := r.attr("data-hosts")
		got = append(got, b+" "+h)
	}
	if strings.Join(got, ",") != "1-1 1,1-2 60" {
		t.Errorf("rows with MaxRows 2 = %v", got)
	}
}
