package ui

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/golive-dev/golive/internal/clock"
	"github.com/golive-dev/golive/internal/rollout"
	"github.com/golive-dev/golive/internal/store"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

var t0 = time.Date(2026, 3, 2, 2, 15, 30, 0, time.UTC)

func steps(names ...string) []*rollout.Step {
	var out []*rollout.Step
	for _, n := range names {
		out = append(out, &rollout.Step{Name: n, Run: "true", Timeout: rollout.DefaultStepTimeout})
	}
	return out
}

func host(name string, st []*rollout.Step, health ...string) *rollout.Host {
	h := &rollout.Host{Name: name, Transport: "ssh", Steps: st}
	for _, c := range health {
		h.Health = append(h.Health, &rollout.Check{Name: c, Kind: "http"})
	}
	return h
}

// testRollout is a schema stage on db-1, then a web stage: a canary batch
// (web-1) and a batch of two (web-2, web-3).
func testRollout() *rollout.Rollout {
	web := steps("upload", "switch", "restart")
	return &rollout.Rollout{
		Plan: "shop-web", Env: "production", Release: "1.4.2", Previous: "1.4.1",
		Stages: []*rollout.Stage{
			{Name: "schema", Hosts: 1, Batches: []*rollout.Batch{{Index: 1, Hosts: []*rollout.Host{host("db-1", steps("migrate"))}}}},
			{Name: "web", Hosts: 3, HasHealth: true, Batches: []*rollout.Batch{
				{Index: 1, Canary: true, Hosts: []*rollout.Host{host("web-1", web, "serves")}},
				{Index: 2, Hosts: []*rollout.Host{host("web-2", web, "serves"), host("web-3", web, "serves")}},
			}},
		},
		Verify:   []*rollout.Check{{Name: "smoke test", Kind: "run"}},
		AutoBack: true,
	}
}

// step is an event with the time that passes before it.
type step struct {
	after time.Duration
	e     store.Event
}

func ev(k store.Kind, a store.Action, stage string, batch int, host, stp string) store.Event {
	return store.Event{RunID: "r-1", Kind: k, Action: a, Stage: stage, Batch: batch, Host: host, Step: stp}
}

func stepDone(stage string, batch int, host, name string, d time.Duration) []step {
	ok := ev(store.KindStep, store.ActionFinished, stage, batch, host, name)
	ok.Duration, ok.ExitCode = d, store.ExitCode(0)
	return []step{{0, ev(store.KindStep, store.ActionStarted, stage, batch, host, name)}, {d, ok}}
}

// failingOutput is 15 lines; the failures section shows the last 10.
func failingOutput() string {
	var b strings.Builder
	for i := 1; i <= 15; i++ {
		fmt.Fprintf(&b, "restart line %d\n", i)
	}
	return b.String()
}

// script is a run that fails on web-3 and is backed out, with the backout
// of db-1 failing.
func script() []step {
	var s []step
	add := func(after time.Duration, e store.Event) { s = append(s, step{after, e}) }
	addAll := func(more []step) { s = append(s, more...) }
	add(0, ev(store.KindState, "running", "", 0, "", ""))
	add(0, ev(store.KindStage, store.ActionStarted, "schema", 0, "", ""))
	add(0, ev(store.KindBatch, store.ActionStarted, "schema", 1, "", ""))
	add(0, ev(store.KindHost, store.ActionStarted, "schema", 1, "db-1", ""))
	addAll(stepDone("schema", 1, "db-1", "migrate", 2100*time.Millisecond))
	add(0, ev(store.KindHost, store.ActionFinished, "schema", 1, "db-1", ""))
	add(0, ev(store.KindBatch, store.ActionFinished, "schema", 1, "", ""))
	add(0, ev(store.KindStage, store.ActionFinished, "schema", 0, "", ""))
	add(time.Second, ev(store.KindStage, store.ActionStarted, "web", 0, "", ""))
	add(0, ev(store.KindBatch, store.ActionStarted, "web", 1, "", ""))
	add(0, ev(store.KindHost, store.ActionStarted, "web", 1, "web-1", ""))
	for _, n := range []string{"upload", "switch", "restart"} {
		addAll(stepDone("web", 1, "web-1", n, 400*time.Millisecond))
	}
	add(0, ev(store.KindCheck, store.ActionStarted, "web", 1, "web-1", "serves"))
	add(time.Second, ev(store.KindCheck, store.ActionPassed, "web", 1, "web-1", "serves"))
	add(0, ev(store.KindHost, store.ActionFinished, "web", 1, "web-1", ""))
	add(0, ev(store.KindBatch, store.ActionFinished, "web", 1, "", ""))
	add(30*time.Second, ev(store.KindBatch, store.ActionStarted, "web", 2, "", ""))
	add(0, ev(store.KindHost, store.ActionStarted, "web", 2, "web-2", ""))
	add(0, ev(store.KindHost, store.ActionStarted, "web", 2, "web-3", ""))
	addAll(stepDone("web", 2, "web-2", "upload", 500*time.Millisecond))
	addAll(stepDone("web", 2, "web-3", "upload", 500*time.Millisecond))
	addAll(stepDone("web", 2, "web-3", "switch", 300*time.Millisecond))
	add(0, ev(store.KindStep, store.ActionStarted, "web", 2, "web-3", "restart"))
	retried := ev(store.KindStep, store.ActionRetried, "web", 2, "web-3", "restart")
	retried.ExitCode, retried.Duration = store.ExitCode(1), 2*time.Second
	add(2*time.Second, retried)
	failed := ev(store.KindStep, store.ActionFailed, "web", 2, "web-3", "restart")
	failed.ExitCode, failed.Duration, failed.Output = store.ExitCode(1), 2*time.Second, failingOutput()
	add(2*time.Second, failed)
	hf := ev(store.KindHost, store.ActionFailed, "web", 2, "web-3", "")
	hf.Message = "step restart failed"
	add(0, hf)
	add(0, ev(store.KindStage, store.ActionFailed, "web", 0, "", ""))
	term := ev(store.KindStep, store.ActionTerminated, "web", 2, "web-2", "switch")
	term.Duration = 1500 * time.Millisecond
	add(0, ev(store.KindStep, store.ActionStarted, "web", 2, "web-2", "switch"))
	add(time.Second, term)
	st := ev(store.KindState, "failed", "", 0, "", "")
	st.Message = "stage web exceeded max_failed 0"
	add(0, st)
	st.Action = "backing_out"
	add(0, st)
	for _, b := range []struct{ host, step string }{{"web-3", "restart"}, {"web-3", "switch"}, {"web-3", "upload"},
		{"web-2", "switch"}, {"web-2", "upload"}, {"web-1", "restart"}, {"web-1", "switch"}, {"web-1", "upload"}} {
		add(100*time.Millisecond, ev(store.KindStep, store.ActionBackedOut, "web", 0, b.host, b.step))
	}
	for _, h := range []string{"web-3", "web-2", "web-1"} {
		add(0, ev(store.KindHost, store.ActionBackedOut, "web", 0, h, ""))
	}
	bf := ev(store.KindStep, store.ActionBackoutFailed, "schema", 0, "db-1", "migrate")
	bf.ExitCode, bf.Output = store.ExitCode(2), "migrate: connecting to db\n\x1b[31mERROR\x1b[0m: connection refused\n"
	add(time.Second, bf)
	add(0, ev(store.KindHost, store.ActionBackoutFailed, "schema", 0, "db-1", ""))
	na := ev(store.KindRun, "needs_attention", "", 0, "db-1", "")
	na.Message = "backout of migrate failed"
	add(0, na)
	st.Action, st.Message = "backout_failed", "1 host needs attention"
	add(0, st)
	return s
}

func play(p *Progress, c *clock.Fake, s []step) {
	for _, st := range s {
		c.Advance(st.after)
		p.Observe(st.e)
	}
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (run with -update to accept):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func TestProgressLines(t *testing.T) {
	c := clock.NewFake(t0)
	var out bytes.Buffer
	p := NewProgress(&out, testRollout(), "r-1", ProgressOptions{Clock: c, Style: Style{Colour: true}})
	play(p, c, script())
	p.Close()
	p.Close() // a second Close writes nothing
	got := out.String()
	if strings.Contains(got, "\x1b") {
		t.Errorf("line mode wrote an escape sequence:\n%q", got)
	}
	if n, want := strings.Count(got[:strings.Index(got, "\nFailures")], "\n"), len(script()); n != want {
		t.Errorf("%d lines for %d events", n, want)
	}
	golden(t, "progress-lines.golden", got)
}

func TestProgressFailuresShowLastLines(t *testing.T) {
	for _, tty := range []bool{false, true} {
		c := clock.NewFake(t0)
		var out bytes.Buffer
		p := NewProgress(&out, testRollout(), "r-1", ProgressOptions{Clock: c, TTY: tty})
		play(p, c, script())
		p.Close()
		_, fails, ok := strings.Cut(stripANSI(out.String()), "\nFailures\n")
		if !ok {
			t.Fatalf("tty=%v: no failures section:\n%s", tty, out.String())
		}
		want := []string{
			"  web / web-3  step restart  exit 1 (2.0s)\n",
			"  schema / db-1  backout of step migrate  exit 2\n",
			"    | ERROR: connection refused\n",
			"  db-1  needs attention: backout of migrate failed\n",
		}
		for i := 6; i <= 15; i++ {
			want = append(want, fmt.Sprintf("    | restart line %d\n", i))
		}
		for _, w := range want {
			if !strings.Contains(fails, w) {
				t.Errorf("tty=%v: failures section lacks %q:\n%s", tty, w, fails)
			}
		}
		if strings.Contains(fails, "restart line 5\n") {
			t.Errorf("tty=%v: failures section shows more than the last %d lines:\n%s", tty, FailureOutputLines, fails)
		}
		if strings.Contains(fails, "web-3  host failed") || strings.Contains(fails, "web-2") {
			t.Errorf("tty=%v: failures section repeats a host or lists a terminated step:\n%s", tty, fails)
		}
	}
}

func TestProgressNoFailuresNoSection(t *testing.T) {
	c := clock.NewFake(t0)
	var out bytes.Buffer
	p := NewProgress(&out, testRollout(), "r-1", ProgressOptions{Clock: c})
	play(p, c, stepDone("schema", 1, "db-1", "migrate", time.Second))
	p.Close()
	if strings.Contains(out.String(), "Failures") {
		t.Errorf("failures section without failures:\n%s", out.String())
	}
}

var ansiStrip = regexp.MustCompile(`\x1b\[[0-9;?]*[A-Za-z]`)

func stripANSI(s string) string { return ansiStrip.ReplaceAllString(s, "") }

func TestProgressHostFailuresWithoutStep(t *testing.T) {
	c := clock.NewFake(t0)
	var out bytes.Buffer
	p := NewProgress(&out, testRollout(), "r-1", ProgressOptions{Clock: c})
	hf := ev(store.KindHost, store.ActionFailed, "web", 1, "web-1", "")
	hf.Message = "ssh: connect to host web-1 port 22: connection refused"
	p.Observe(hf)
	bf := ev(store.KindHost, store.ActionBackoutFailed, "web", 0, "web-1", "")
	bf.Message = "unreachable"
	p.Observe(bf)
	p.Close()
	_, fails, _ := strings.Cut(out.String(), "\nFailures\n")
	for _, w := range []string{
		"  web / web-1  host failed: ssh: connect to host web-1 port 22: connection refused\n",
		"  web / web-1  backout failed: unreachable\n",
	} {
		if !strings.Contains(fails, w) {
			t.Errorf("failures section lacks %q:\n%s", w, fails)
		}
	}
}

// Events the rollout does not know (another stage, a host added later, a
// nil rollout, odd kinds) are printed and never crash the display.
func TestProgressUnknownEvents(t *testing.T) {
	for _, r := range []*rollout.Rollout{nil, testRollout()} {
		for _, tty := range []bool{false, true} {
			c := clock.NewFake(t0)
			var out bytes.Buffer
			p := NewProgress(&out, r, "r-1", ProgressOptions{Clock: c, TTY: tty})
			for _, e := range []store.Event{
				ev(store.KindStep, store.ActionFailed, "nope", 1, "x", "y"),
				ev(store.KindStep, store.ActionStarted, "web", 9, "web-9", "upload"),
				ev(store.KindStep, store.ActionStarted, "web", 1, "web-1", "no-such-step"),
				ev(store.KindHost, store.ActionStarted, "web", 1, "", ""),
				ev(store.KindBatch, store.ActionStarted, "web", 7, "", ""),
				ev(store.KindMonitor, store.ActionFailed, "", 0, "", "5xx ratio"),
				ev(store.KindLock, store.ActionAcquired, "", 0, "", ""),
				{RunID: "r-1", Kind: store.KindState, Action: "running", Message: "line one\nline\x1b[31m two"},
			} {
				p.Observe(e)
			}
			p.Close()
			if !strings.Contains(stripANSI(out.String()), "monitor 5xx ratio") {
				t.Errorf("r=%v tty=%v: monitor failure not listed:\n%s", r != nil, tty, out.String())
			}
			if !tty && strings.Contains(out.String(), "\x1b") {
				t.Errorf("escape sequence from a message reached line mode:\n%q", out.String())
			}
		}
	}
}
