package engine_test

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golive-dev/golive/internal/clock"
	"github.com/golive-dev/golive/internal/engine"
	"github.com/golive-dev/golive/internal/store"
)

const twoSteps = `stages:
  - name: web
    on: web
    strategy: {canary: 1, batch: 2%s}
    steps:
      - name: a
        run: echo a >> log
        backout: echo undo-a >> log
      - name: b
        run: %s
        backout: echo undo-b >> log
`

// fiveHostBatches is 5 hosts in batches of 1, 2, 2 whose step b runs
// stepB; strategy adds to the strategy map.
func fiveHostBatches(t *testing.T, strategy, stepB string) *fixture {
	return newFixture(t, 5, fmt.Sprintf(twoSteps, strategy, stepB))
}

func TestCanaryThenBatchesInOrder(t *testing.T) {
	t.Parallel()
	f := fiveHostBatches(t, "", "echo b >> log")
	out := f.start(f.engine())
	f.wantState(out, store.StateSucceeded)

	evs := f.events(out.Run.ID)
	wantBatches := [][]string{{"h1"}, {"h2", "h3"}, {"h4", "h5"}}
	var prevFinished int64
	for i, hosts := range wantBatches {
		index := i + 1
		var got []string
		var firstStep, lastFinished int64
		for _, e := range filter(evs, match{kind: store.KindHost, action: store.ActionStarted}) {
			if e.Batch == index {
				got = append(got, e.Host)
			}
		}
		slices.Sort(got)
		equal(t, "hosts of batch "+strconv.Itoa(index), got, hosts)
		for _, h := range hosts {
			for _, e := range filter(evs, match{kind: store.KindStep, action: store.ActionStarted, host: h}) {
				if firstStep == 0 || e.Seq < firstStep {
					firstStep = e.Seq
				}
			}
			for _, e := range filter(evs, match{kind: store.KindHost, action: store.ActionFinished, host: h}) {
				lastFinished = max(lastFinished, e.Seq)
			}
		}
		if firstStep <= prevFinished {
			t.Errorf("batch %d: a step started at seq %d, before batch %d finished (seq %d)", index, firstStep, index-1, prevFinished)
		}
		prevFinished = lastFinished
	}
	for _, h := range []string{"h1", "h2", "h3", "h4", "h5"} {
		equal(t, h+" log", f.log(h), []string{"a", "b"})
	}
	live, err := f.st.Live(context.Background(), "t", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(live) != 5 || live["h3"].Release != "2.0" {
		t.Errorf("live = %+v, want 2.0 on 5 hosts", live)
	}
}

// TestPauseBetweenBatches: with pause, the next batch waits for the
// (fake) bake time; no pause after the last batch.
func TestPauseBetweenBatches(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 2, `stages:
  - name: web
    on: web
    strategy: {batch: 1, pause: 30s}
    steps:
      - name: a
        run: echo a >> log
        backout: echo undo-a >> log
`)
	fake := clock.NewFake(time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC))
	e := f.engine(func(o *engine.Options) { o.Clock = fake; o.PollEvery = time.Hour; o.Heartbeat = 2 * time.Hour })
	done := make(chan *engine.Outcome, 1)
	go func() {
		out, err := e.Start(context.Background(), engine.Request{Rollout: f.ro, Requester: "tester"})
		if err != nil {
			t.Error(err)
		}
		done <- out
	}()
	waitFile(t, f.hostDir("h1")+"/log", 5*time.Second)
	// The abort watcher's sleep and the pause.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := fake.BlockUntilContext(ctx, 2); err != nil {
		t.Fatal("engine does not pause between batches")
	}
	time.Sleep(100 * time.Millisecond)
	if f.log("h2") != nil {
		t.Fatal("batch 2 started during the pause")
	}
	fake.Advance(29 * time.Second)
	time.Sleep(100 * time.Millisecond)
	if f.log("h2") != nil {
		t.Fatal("batch 2 started before the pause was over")
	}
	fake.Advance(time.Second)
	select {
	case out := <-done:
		f.wantState(out, store.StateSucceeded)
	case <-time.After(5 * time.Second):
		t.Fatal("run did not finish after the pause")
	}
	equal(t, "h2 log", f.log("h2"), []string{"a"})
}

// failOn is a step script that writes b and fails on the named hosts.
func failOn(hosts ...string) string {
	var cond []string
	for _, h := range hosts {
		cond = append(cond, `[ "$GOLIVE_HOST" = `+h+` ]`)
	}
	return "echo b >> log; if " + strings.Join(cond, " || ") + "; then echo broken >&2; exit 1; fi"
}

func TestMaxFailedOneTolerated(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 3, fmt.Sprintf(twoSteps, ", max_failed: 1", failOn("h2")))
	out := f.start(f.engine())
	f.wantState(out, store.StateSucceeded)
	if len(out.Attention) != 1 || !strings.Contains(out.Attention[0], "h2") {
		t.Fatalf("Attention = %q, want one entry naming h2", out.Attention)
	}
	evs := f.events(out.Run.ID)
	if count(evs, match{kind: store.KindRun, action: engine.ActionNeedsAttention}) != 1 {
		t.Error("journal has no needs_attention event for h2")
	}
	if count(evs, match{action: store.ActionBackedOut}) != 0 {
		t.Error("a run within its budget backed something out")
	}
	live, err := f.st.Live(context.Background(), "t", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := live["h2"]; ok || live["h1"].Release != "2.0" || live["h3"].Release != "2.0" {
		t.Errorf("live = %+v, want 2.0 on h1 and h3 only", live)
	}
}

func TestMaxFailedOneExceeded(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 3, fmt.Sprintf(twoSteps, ", max_failed: 1", failOn("h2", "h3")))
	out := f.start(f.engine())
	f.wantState(out, store.StateBackedOut)
	if !strings.Contains(out.Run.Reason, "max_failed is 1") {
		t.Errorf("reason = %q, want the budget", out.Run.Reason)
	}
	for _, h := range []string{"h2", "h3"} {
		equal(t, h+" log", f.log(h), []string{"a", "b", "undo-b", "undo-a"})
	}
}

func TestMaxFailedPercentage(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		fail  []string
		state store.State
	}{
		{"two of five within 40%", []string{"h2", "h4"}, store.StateSucceeded},
		{"three of five over 40%", []string{"h2", "h3", "h4"}, store.StateBackedOut},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// One batch, so every host runs whatever the others do.
			f := newFixture(t, 5, strings.Replace(fmt.Sprintf(twoSteps, ", max_failed: 40%", failOn(tc.fail...)), "canary: 1, batch: 2", "batch: 5", 1))
			if f.ro.Stages[0].MaxFailed != 2 {
				t.Fatalf("budget = %d, want 2", f.ro.Stages[0].MaxFailed)
			}
			out := f.start(f.engine())
			f.wantState(out, tc.state)
			if tc.state == store.StateSucceeded && len(out.Attention) != len(tc.fail) {
				t.Errorf("Attention = %q, want %d hosts", out.Attention, len(tc.fail))
			}
		})
	}
}
