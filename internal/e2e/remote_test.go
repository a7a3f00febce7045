package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/golive-dev/golive/internal/store"
	"github.com/golive-dev/golive/internal/store/sqlite"
)

// events reads the last run's journal from the store.
func (w *world) events() []store.Event {
	w.t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, w.store)
	if err != nil {
		w.t.Fatal(err)
	}
	defer st.Close()
	runs, err := st.ListRuns(ctx, store.RunFilter{Limit: 1})
	if err != nil || len(runs) == 0 {
		w.t.Fatalf("no run in the store: %v", err)
	}
	evs, err := st.Events(ctx, runs[0].ID, 0)
	if err != nil {
		w.t.Fatal(err)
	}
	return evs
}

// waitRemoteStarted waits until the journal holds the remote process
// group of step on host, as a controller journals it once the script runs.
func (w *world) waitRemoteStarted(p *proc, host, step string) {
	w.t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		for _, ev := range w.events() {
			if ev.Kind == store.KindStep && ev.Action == "remote_started" && ev.Host == host && ev.Step == step {
				w.t.Logf("journaled: %s", ev.Message)
				return
			}
		}
		if p.Exited() || time.Now().After(deadline) {
			w.t.Fatalf("no remote_started event for %s on %s\n%s", step, host, p.Result())
		}
		time.Sleep(pollEvery)
	}
}

// TestKillControllerThenBackoutStopsRemoteScript: the controller is killed
// (SIGKILL) while h2's unpack sleeps on the host. The script goes on
// there: nothing told it the controller died. `golive backout last`
// first stops that process group (recognised by the tag in its
// environment), then backs out.
func TestKillControllerThenBackoutStopsRemoteScript(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.build("1.0", "1.1")
	w.release("1.0")

	w.arm(2, "unpack", 120)
	p := w.startGolive("run", "-r", "1.1")
	pid := w.waitMarker(p, 2, "unpack")
	w.waitRemoteStarted(p, "h2", "unpack")
	p.Kill()
	time.Sleep(time.Second) // sshd notices the client is gone
	if !w.alive(2, pid) {
		t.Fatalf("h2's unpack (pid %d) died with the controller; the test proves nothing", pid)
	}
	r := w.golive("backout", "last")
	if r.Code != 0 && r.Code != 1 {
		t.Fatalf("backout last: exit %d, want the run backed out\n%s", r.Code, r)
	}
	if w.alive(2, pid) {
		t.Errorf("h2's unpack (pid %d) still runs after golive backout", pid)
	}
	w.assertState("last", "backed_out")
	w.assertServing("1.0")
	evs := w.events()
	stopped, backout := -1, -1
	for i, ev := range evs {
		switch {
		case stopped < 0 && ev.Action == "remote_stopped" && ev.Host == "h2" && ev.Step == "unpack" && strings.Contains(ev.Message, "it was still running"):
			stopped = i
		case backout < 0 && ev.Action == "backout_started":
			backout = i
		}
	}
	if stopped < 0 || backout < 0 || stopped > backout {
		t.Errorf("want h2's unpack stopped (event %d) before the first backout (event %d)\n%s", stopped, backout, w.logsOf("last"))
	}
}

// TestKillControllerThenResumeStopsRemoteScript: the same, with `golive
// resume last`: the script left running is stopped before unpack runs
// again on h2, and the release finishes.
func TestKillControllerThenResumeStopsRemoteScript(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.build("1.0", "1.1")
	w.release("1.0")

	w.arm(2, "unpack", 120)
	p := w.startGolive("run", "-r", "1.1")
	pid := w.waitMarker(p, 2, "unpack")
	w.waitRemoteStarted(p, "h2", "unpack")
	p.Kill()
	time.Sleep(time.Second)
	if !w.alive(2, pid) {
		t.Fatalf("h2's unpack (pid %d) died with the controller; the test proves nothing", pid)
	}
	w.mustExit(0, "resume", "last")
	if w.alive(2, pid) {
		t.Errorf("h2's first unpack (pid %d) still runs after golive resume", pid)
	}
	w.assertState("last", "succeeded")
	w.assertServing("1.1")
	// h2's unpack: started by the dead controller, stopped, started again.
	var seq []string
	for _, ev := range w.events() {
		if ev.Host == "h2" && ev.Step == "unpack" && (ev.Action == store.ActionStarted || ev.Action == "remote_stopped") {
			seq = append(seq, string(ev.Action))
		}
	}
	if strings.Join(seq, " ") != "started remote_stopped started" {
		t.Errorf("h2's unpack: %v, want started, remote_stopped, started (stopped before it runs again)\n%s", seq, w.logsOf("last"))
	}
}
