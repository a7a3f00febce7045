package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golive-dev/golive/internal/promtest"
)

// TestCompareMonitorThroughTheCLI: a real Prometheus scrapes one exporter
// per host. Release 2.0's canary reports nothing at first: `golive run`
// pauses (exit 3) and the report's "Why it stopped" shows the
// inconclusive evaluations; once the host reports, `golive resume`
// finishes (exit 0). Release 3.0 fails 3x as many requests as 2.0: the
// run fails and is backed out (exit 1), and the report shows the
// failed evaluations with the canary's and the baseline's values.
func TestCompareMonitorThroughTheCLI(t *testing.T) {
	dir := t.TempDir()
	hosts := []promtest.FleetHost{{Name: "h1", Address: "127.0.1.1"}, {Name: "h2", Address: "127.0.1.2"}, {Name: "h3", Address: "127.0.1.3"}}
	var silent atomic.Bool
	silent.Store(true)
	fleet := promtest.StartFleet(t, hosts, func(host string) (float64, bool) {
		data, _ := os.ReadFile(filepath.Join(dir, host, "current"))
		switch {
		case host == "h1" && silent.Load():
			return 0, false
		case strings.TrimSpace(string(data)) == "3.0":
			return 0.03, true
		}
		return 0.01, true
	})
	plan := `golive: 1
name: compared
targets:
  defaults: {transport: local}
  hosts:
    h1: {dir: h1, address: 127.0.1.1, roles: [web]}
    h2: {dir: h2, address: 127.0.1.2, roles: [web]}
    h3: {dir: h3, address: 127.0.1.3, roles: [web]}
stages:
  - name: web
    on: web
    strategy: {canary: 1, batch: 1}
    steps:
      - name: switch
        run: 'echo "$GOLIVE_RELEASE" > current'
        backout: 'echo "$GOLIVE_PREVIOUS" > current'
      - name: bake
        run: 'sleep "$(cat ../bake)"'
        backout: 'true'
monitors:
  - name: error ratio
    prometheus:
      url: ` + fleet.URL + `
      query: 'sum(rate(golive_test_errors_total{addr=~"${{ hosts.regex }}"}[4s])) / sum(rate(golive_test_requests_total{addr=~"${{ hosts.regex }}"}[4s]))'
    compare: {baseline: untouched, max_ratio: 2.5, min_samples: 2}
    interval: 300ms
    failure_limit: 2
    inconclusive_limit: 3
`
	file := filepath.Join(dir, "golive.yaml")
	if err := os.WriteFile(file, []byte(plan), 0o644); err != nil {
		t.Fatal(err)
	}
	bake := func(secs string) {
		if err := os.WriteFile(filepath.Join(dir, "bake"), []byte(secs), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	golive := func(args ...string) (int, string) {
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		var out, errb bytes.Buffer
		code := Main(ctx, append(args, "-f", file), Stdio{In: strings.NewReader(""), Out: &out, Err: &errb})
		return code, out.String() + errb.String()
	}
	if err := fleet.WaitFor(`count(rate(golive_test_requests_total[4s]) > 0) == 2`, 30*time.Second); err != nil { // h1 is silent
		t.Fatal(err)
	}

	bake("2")
	if code, out := golive("run", "-r", "2.0"); code != ExitNoGo || !strings.Contains(out, "inconclusive") {
		t.Fatalf("run 2.0 with no data from the canary: exit %d, want 3 (paused)\n%s", code, out)
	}
	_, out := golive("report", "last")
	if !strings.Contains(out, "## Why it stopped") || !strings.Contains(out, "monitor error ratio inconclusive at") ||
		!strings.Contains(out, `canary \[h1\]: prometheus query returned no data vs baseline 0.01 \[h2 h3\]`) { // Markdown-escaped
		t.Errorf("the report does not show the inconclusive evaluations\n%s", out)
	}
	silent.Store(false)
	if err := fleet.WaitFor(`sum(rate(golive_test_requests_total{host="h1"}[4s])) > 0`, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	if code, out := golive("resume", "last"); code != ExitOK {
		t.Fatalf("resume once h1 reports: exit %d, want 0\n%s", code, out)
	}
	// The report counts the evaluations: passed once h1 reported, none failed.
	_, out = golive("report", "last")
	if !regexp.MustCompile(`(?m)^- error ratio: [1-9][0-9]* evaluations passed, 0 failed$`).MatchString(out) {
		t.Errorf("the report of the resumed run does not count the passed evaluations\n%s", out)
	}

	bake("20")
	code, out := golive("run", "-r", "3.0")
	if code != ExitFailed || !strings.Contains(out, `monitor "error ratio" failed 2 time(s) in a row`) {
		t.Fatalf("run 3.0 at 3x the errors: exit %d, want 1 (backed out)\n%s", code, out)
	}
	_, out = golive("report", "last", "--json")
	var rep struct {
		WhyStopped []string          `json:"why_stopped"`
		Monitors   map[string][2]int `json:"monitors"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("report --json: %v\n%s", err, out)
	}
	if len(rep.WhyStopped) != 3 || !strings.Contains(rep.WhyStopped[2], "monitor error ratio failed at") ||
		!strings.Contains(rep.WhyStopped[2], "> max_ratio 2.5") || !strings.Contains(rep.WhyStopped[2], "vs baseline 0.01 [h2 h3]") {
		t.Errorf("why_stopped = %q, want the reason and the 2 failed evaluations with both values", rep.WhyStopped)
	}
	if c := rep.Monitors["error ratio"]; c[0] < 0 || c[1] < 2 {
		t.Errorf("monitors = %v, want error ratio with 2 or more failed evaluations", rep.Monitors)
	}
	for _, h := range hosts {
		data, _ := os.ReadFile(filepath.Join(dir, h.Name, "current"))
		if got := strings.TrimSpace(string(data)); got != "2.0" {
			t.Errorf("%s runs %q after the backout, want 2.0", h.Name, got)
		}
	}
}
