package engine_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/golive-dev/golive/internal/engine"
	"github.com/golive-dev/golive/internal/store"
)

// deadHolder is a controller process that no longer exists.
func deadHolder(t *testing.T) store.Holder {
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	return store.Holder{PID: 999999, Hostname: host, PIDSpace: store.ThisPIDSpace()}
}

// crashedRun writes, through the store API, a run that a controller
// (holder) was executing when it died: state running, the lock held by
// holder, and the journal events given as "kind action host step"
// (host and step may be "-").
func crashedRun(t *testing.T, f *fixture, holder store.Holder, journal ...string) store.Run {
	t.Helper()
	ctx := context.Background()
	run, err := f.st.CreateRun(ctx, store.Run{Plan: "t", Release: "2.0", PreviousRelease: "1.0", Requester: "tester"})
	if err != nil {
		t.Fatal(err)
	}
	if run, err = f.st.UpdateRunState(ctx, run.ID, []store.State{store.StatePending}, store.StateRunning, "released by tester"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.st.AcquireLock(ctx, store.Lock{Plan: "t", RunID: run.ID, Holder: holder, Requester: "tester"}); err != nil {
		t.Fatal(err)
	}
	for _, line := range journal {
		w := strings.Fields(line)
		ev := store.Event{RunID: run.ID, Kind: store.Kind(w[0]), Action: store.Action(w[1]), Stage: "web", Batch: 1}
		if w[2] != "-" {
			ev.Host = w[2]
		}
		if w[3] != "-" {
			ev.Step = w[3]
		}
		if _, err := f.st.AppendEvent(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	return run
}

// writeLog sets a host's marker log to lines, as the dead controller's
// steps left it.
func writeLog(t *testing.T, f *fixture, host string, lines ...string) {
	t.Helper()
	if err := os.MkdirAll(f.hostDir(host), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(f.hostDir(host), "log"), []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// resumeJournal: h1 finished; on h2 step a finished and b started but
// never finished; h3 not started.
var resumeJournal = []string{
	"stage started - -", "batch started - -",
	"host started h1 -", "step started h1 a", "step finished h1 a", "step started h1 b", "step finished h1 b", "host finished h1 -",
	"host started h2 -", "step started h2 a", "step finished h2 a", "step started h2 b",
}

func TestResumeAfterControllerDied(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 3, strings.Replace(fmt.Sprintf(twoSteps, "", "echo b >> log"), "canary: 1, batch: 2", "batch: 3", 1))
	run := crashedRun(t, f, deadHolder(t), resumeJournal...)
	writeLog(t, f, "h1", "a", "b")
	writeLog(t, f, "h2", "a")

	out, err := f.engine().Resume(context.Background(), run, f.ro)
	if err != nil {
		t.Fatal(err)
	}
	f.wantState(out, store.StateSucceeded)
	equal(t, "h1 log", f.log("h1"), []string{"a", "b"})
	equal(t, "h2 log", f.log("h2"), []string{"a", "b"})
	equal(t, "h3 log", f.log("h3"), []string{"a", "b"})
	evs := f.events(run.ID)
	if count(evs, match{kind: store.KindLock, action: store.ActionStolen}) != 1 {
		t.Error("journal: the dead holder's lock was not taken over")
	}
	if count(evs, match{kind: store.KindRun, action: "resumed"}) != 1 {
		t.Error("journal: no resumed event")
	}
	if n := count(evs, match{kind: store.KindStep, action: store.ActionStarted, host: "h2", step: "b"}); n != 2 {
		t.Errorf("h2/b started %d times, want 2 (once before the crash, once on resume)", n)
	}
	wantNoLock(t, f)
}

// TestResumeRefusesLiveHolder: a run whose controller still runs is not
// taken over.
func TestResumeRefusesLiveHolder(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 3, fmt.Sprintf(twoSteps, "", "echo b >> log"))
	alive := deadHolder(t)
	alive.PID = os.Getppid()
	run := crashedRun(t, f, alive, resumeJournal...)
	_, err := f.engine().Resume(context.Background(), run, f.ro)
	var busy *engine.HolderBusyError
	if !errors.As(err, &busy) {
		t.Fatalf("err = %v, want a *engine.HolderBusyError", err)
	}
	if f.log("h3") != nil {
		t.Error("h3 was touched")
	}
}

// TestResumeCountsFailedHostOnce: a host that failed (within max_failed)
// before the controller died counts once against the budget after a
// resume, as it would have without the crash.
func TestResumeCountsFailedHostOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 3, strings.Replace(fmt.Sprintf(twoSteps, ", max_failed: 1", failOn("h2")), "canary: 1, batch: 2", "batch: 3", 1))
	run := crashedRun(t, f, deadHolder(t),
		"stage started - -", "batch started - -",
		"host started h1 -", "step started h1 a", "step finished h1 a", "step started h1 b", "step finished h1 b", "host finished h1 -",
		"host started h2 -", "step started h2 a", "step finished h2 a", "step started h2 b", "step failed h2 b", "host failed h2 -")
	writeLog(t, f, "h1", "a", "b")
	writeLog(t, f, "h2", "a", "b")

	out, err := f.engine().Resume(context.Background(), run, f.ro)
	if err != nil {
		t.Fatal(err)
	}
	f.wantState(out, store.StateSucceeded)
	if len(out.Attention) != 1 || !strings.Contains(out.Attention[0], "h2") {
		t.Errorf("Attention = %q, want h2", out.Attention)
	}
	equal(t, "h3 log", f.log("h3"), []string{"a", "b"})
}

// TestResumeGoesOnBackingOut: a controller that died while backing out
// is resumed by backing out what is left, not again what was done.
func TestResumeGoesOnBackingOut(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1, fmt.Sprintf(twoSteps, "", "echo b >> log; exit 1"))
	run := crashedRun(t, f, deadHolder(t),
		"stage started - -", "batch started - -", "host started h1 -",
		"step started h1 a", "step finished h1 a", "step started h1 b", "step failed h1 b", "host failed h1 -",
		"host backout_started h1 -", "step backout_started h1 b", "step backed_out h1 b")
	ctx := context.Background()
	for _, to := range []store.State{store.StateFailed, store.StateBackingOut} {
		var err error
		if run, err = f.st.UpdateRunState(ctx, run.ID, []store.State{run.State}, to, "stage web failed"); err != nil {
			t.Fatal(err)
		}
	}
	writeLog(t, f, "h1", "a", "b", "undo-b")
	out, err := f.engine().Resume(ctx, run, f.ro)
	if err != nil {
		t.Fatal(err)
	}
	f.wantState(out, store.StateBackedOut)
	equal(t, "log", f.log("h1"), []string{"a", "b", "undo-b", "undo-a"})
	wantNoLock(t, f)
}

// TestResumeHonoursAbortRequestedMeanwhile: an abort asked for while the
// controller was dead backs the run out on resume; nothing new starts.
func TestResumeHonoursAbortRequestedMeanwhile(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 3, strings.Replace(fmt.Sprintf(twoSteps, "", "echo b >> log"), "canary: 1, batch: 2", "batch: 3", 1))
	run := crashedRun(t, f, deadHolder(t), resumeJournal...)
	if err := engine.RequestAbort(context.Background(), f.st, run.ID, "bob", "stop", false); err != nil {
		t.Fatal(err)
	}
	writeLog(t, f, "h1", "a", "b")
	writeLog(t, f, "h2", "a")
	out, err := f.engine().Resume(context.Background(), run, f.ro)
	if err != nil {
		t.Fatal(err)
	}
	f.wantState(out, store.StateBackedOut)
	equal(t, "h1 log", f.log("h1"), []string{"a", "b", "undo-b", "undo-a"})
	// b started on h2 (maybe it ran): its backout runs too.
	equal(t, "h2 log", f.log("h2"), []string{"a", "undo-b", "undo-a"})
	if f.log("h3") != nil {
		t.Errorf("h3 was touched: %v", f.log("h3"))
	}
}

// TestResumeAfterBudgetExceeded: the journal says the stage failed (its
// budget was exceeded) when the controller died, before the run was
// marked failed. Resume fails and backs out; it does not try the hosts
// again and carry on.
func TestResumeAfterBudgetExceeded(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 2, strings.Replace(fmt.Sprintf(twoSteps, "", "echo b >> log"), "canary: 1, batch: 2", "batch: 2", 1))
	run := crashedRun(t, f, deadHolder(t),
		"stage started - -", "batch started - -",
		"host started h1 -", "host started h2 -",
		"step started h1 a", "step finished h1 a", "step started h2 a", "step finished h2 a",
		"step started h1 b", "step failed h1 b", "host failed h1 -",
		"step started h2 b", "step terminated h2 b", "host terminated h2 -",
		"stage failed - -")
	writeLog(t, f, "h1", "a", "b")
	writeLog(t, f, "h2", "a", "b")
	out, err := f.engine().Resume(context.Background(), run, f.ro)
	if err != nil {
		t.Fatal(err)
	}
	f.wantState(out, store.StateBackedOut)
	equal(t, "h1 log", f.log("h1"), []string{"a", "b", "undo-b", "undo-a"})
	equal(t, "h2 log", f.log("h2"), []string{"a", "b", "undo-b", "undo-a"})
}
