package e2e

import (
	"context"
	"os"
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
	if r.Code != 0 {
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

// TestLinkCutThenRetryStopsTheFirstAttempt: unpack (retries: 1) sleeps on
// h1 when its link is cut; the attempt fails with the connection lost, but
// its script goes on there. Once the link is back, golive stops that
// script (found by its tag) before the second attempt runs, and the
// release finishes.
func TestLinkCutThenRetryStopsTheFirstAttempt(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	plan, err := os.ReadFile(w.plan)
	if err != nil {
		t.Fatal(err)
	}
	retrying := strings.Replace(string(plan), "      - name: unpack\n", "      - name: unpack\n        retries: 1\n", 1)
	if retrying == string(plan) {
		t.Fatal("the e2e plan has no step unpack to give retries")
	}
	writeFile(t, w.plan, []byte(retrying))
	w.build("1.0", "1.1")
	w.release("1.0")

	const cut = 1 // h1
	w.arm(cut, "unpack", 60)
	p := w.startGolive("run", "-r", "1.1", "--ssh-keepalive", "1s", "--ssh-connect-timeout", "30s")
	pid := w.waitMarker(p, cut, "unpack")
	w.waitRemoteStarted(p, "h1", "unpack")
	ctx := context.Background()
	if err := w.f.LinkDown(ctx, cut); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.f.LinkUp(ctx, cut) })
	deadline := time.Now().Add(waitTimeout)
	for !w.journaled("h1", "unpack", store.ActionRetried) {
		if p.Exited() || time.Now().After(deadline) {
			t.Fatalf("unpack on h1 was not retried after the link was cut\n%s", p.Result())
		}
		time.Sleep(pollEvery)
	}
	if err := w.f.LinkUp(ctx, cut); err != nil {
		t.Fatal(err)
	}
	r := p.Wait()
	if r.Code != 0 {
		t.Fatalf("run: exit %d, want 0 (the second attempt succeeds)\n%s\n%s", r.Code, r, w.logsOf("last"))
	}
	if w.alive(cut, pid) {
		t.Errorf("the first attempt of unpack on h1 (pid %d) still runs", pid)
	}
	w.assertServing("1.1")
	var seq []string
	for _, ev := range w.events() {
		if ev.Host == "h1" && ev.Step == "unpack" && ev.Kind == store.KindStep {
			a := string(ev.Action)
			if a == "remote_stopped" && !strings.Contains(ev.Message, "it was still running") {
				a += "(already ended)"
			}
			seq = append(seq, a)
		}
	}
	want := "started remote_started retried remote_stopped started remote_started finished"
	if strings.Join(seq, " ") != want {
		t.Errorf("h1's unpack: %s\nwant %s\n%s", strings.Join(seq, " "), want, w.logsOf("last"))
	}
}

// journaled reports whether the last run's journal has a step event.
func (w *world) journaled(host, step string, action store.Action) bool {
	for _, ev := range w.events() {
		if ev.Kind == store.KindStep && ev.Host == host && ev.Step == step && ev.Action == action {
			return true
		}
	}
	return false
}
