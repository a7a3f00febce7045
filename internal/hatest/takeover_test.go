package hatest

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/golive-dev/golive/internal/pgtest"
	"github.com/golive-dev/golive/internal/store"
	"github.com/golive-dev/golive/internal/store/postgres"
)

// A server killed with SIGKILL in the middle of a batch: one of the two
// other servers (one only) takes the run over once the lease expired
// (within the lease TTL and a heartbeat, plus what a loaded machine adds)
// and finishes it; every host ends exactly at the release, and each
// step's success is journaled once. The CLI on the same database sees it
// all.
func TestKilledServerIsTakenOver(t *testing.T) {
	w := newWorld(t, 6, "", pgtest.DSN(t))
	a, b, c := w.serve("A"), w.serve("B"), w.serve("C")
	w.arm("h2", 30, false) // h2's switch sleeps: the batch h2, h3 is half done
	id := w.start(a, "2.0")
	w.waitAt("h2", a, b)
	killed := time.Now()
	a.kill()
	w.waitState(id, []*server{b, c}, "succeeded")
	w.assertReleased(id, "2.0")

	raw, events := w.journal(id)
	taken := takenOver(events)
	if len(taken) != 1 {
		t.Fatalf("want one takeover journaled, got %d\n%s", len(taken), raw)
	}
	ev := taken[0]
	aPid := "pid " + strconv.Itoa(a.cmd.Process.Pid) + " "
	bPid, cPid := "pid "+strconv.Itoa(b.cmd.Process.Pid)+" ", "pid "+strconv.Itoa(c.cmd.Process.Pid)+" "
	if !strings.Contains(ev.Message, aPid) || !strings.Contains(ev.Message, bPid) && !strings.Contains(ev.Message, cPid) ||
		!strings.Contains(ev.Message, "controls.takeover: resume") {
		t.Errorf("the takeover must name both holders (%s, and %s or %s) and the mode: %q", aPid, bPid, cPid, ev.Message)
	}
	if d := ev.Time.Sub(killed); d > leaseTTL+heartbeat+slack {
		t.Errorf("taken over %v after the kill; want within the lease TTL %v + a heartbeat %v (+ %v slack)", d, leaseTTL, heartbeat, slack)
	}

	// The CLI at a terminal sees it all in PostgreSQL.
	if out := w.cli.MustExit(0, "logs", id).Stdout; !strings.Contains(out, "taken over") {
		t.Errorf("golive logs does not show the takeover:\n%s", out)
	}
	if out := w.cli.MustExit(0, "status", id).Stdout; !strings.Contains(out, "succeeded") {
		t.Errorf("golive status does not show the run succeeded:\n%s", out)
	}
	if out := w.cli.MustExit(0, "history").Stdout; !strings.Contains(out, id) || !strings.Contains(out, "succeeded") {
		t.Errorf("golive history does not list the run:\n%s", out)
	}
}

// A server stopped with SIGSTOP mid-run: the other server takes the run
// over and finishes it. Woken with SIGCONT, the old server is fenced: it
// writes nothing more to the journal and touches no host.
func TestPausedServerIsTakenOverAndFenced(t *testing.T) {
	w := newWorld(t, 4, "", pgtest.DSN(t))
	a, b := w.serve("A"), w.serve("B")
	// A's step on h2 sleeps a second, and ends while A is stopped (a
	// command started before the pause runs to its end: the local
	// transport's process group is A's child); A, once woken, finds it
	// ended and tries to journal it.
	w.arm("h2", 1, true)
	id := w.start(a, "3.0")
	w.waitAt("h2", a, b)
	a.signal(syscall.SIGSTOP)
	w.waitState(id, []*server{a, b}, "succeeded")
	w.assertReleased(id, "3.0")
	journal, events := w.journal(id)
	if n := len(takenOver(events)); n != 1 {
		t.Fatalf("want one takeover, got %d\n%s", n, journal)
	}
	hosts := w.hostFiles()

	a.signal(syscall.SIGCONT)
	// A finds itself fenced (its writes refused) and stops working on
	// the run; then give it many more heartbeats to misbehave.
	deadline := time.Now().Add(waitTimeout)
	for !a.idle() {
		if time.Now().After(deadline) {
			t.Fatalf("the woken server still executes the run\n%s", a.stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(10 * heartbeat)
	if got, _ := w.journal(id); got != journal {
		t.Errorf("the fenced server changed the journal:\nbefore:\n%s\nafter:\n%s", journal, got)
	}
	if got := w.hostFiles(); !equal(got, hosts) {
		t.Errorf("the fenced server touched a host:\nbefore: %v\nafter:  %v", hosts, got)
	}
	if w.state(id) != "succeeded" {
		t.Errorf("run is %s after A woke, want succeeded", w.state(id))
	}
	select {
	case <-a.done:
		t.Errorf("the fenced server exited; it should go on serving\n%s", a.stderr.String())
	default:
	}
}

// PostgreSQL restarted (immediate stop: connections cut) in the middle of
// a run, down for longer than the lease TTL, with two servers: the
// executor waits for it, retrying, and once it is back either regains its
// lease or the other server takes the run over (the executor is then
// fenced); either way the run finishes, each step's success journaled
// once, the hosts exact.
func TestPostgresRestartMidRun(t *testing.T) {
	for _, servers := range []int{1, 2} {
		t.Run(strconv.Itoa(servers)+" servers", func(t *testing.T) { postgresRestartMidRun(t, servers) })
	}
}

func postgresRestartMidRun(t *testing.T, servers int) {
	pg, err := pgtest.Start()
	if err != nil {
		t.Skipf("no PostgreSQL for this test: %v", err)
	}
	t.Cleanup(pg.Stop)
	w := newWorld(t, 4, "", pg.NewDatabase(t))
	var all []*server
	for i := range servers {
		all = append(all, w.serve(string(rune('A'+i))))
	}
	w.arm("h2", 2, true)
	id := w.start(all[0], "4.0")
	w.waitAt("h2", all...)
	if err := pg.Down(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * leaseTTL) // h2's switch ends while PostgreSQL is down
	if err := pg.Up(); err != nil {
		t.Fatal(err)
	}
	w.waitState(id, all, "succeeded")
	w.assertReleased(id, "4.0")
	raw, events := w.journal(id)
	taken := len(takenOver(events))
	switch {
	case servers == 1 && taken != 0:
		t.Errorf("alone, the executor must regain its lease, not be taken over (%d takeovers)\n%s", taken, raw)
	case taken > 1:
		t.Errorf("taken over %d times\n%s", taken, raw)
	}
}

// controls.takeover: backout backs out what the run did; pause leaves it
// paused for people, touching nothing.
func TestTakeoverModes(t *testing.T) {
	for _, tc := range []struct{ mode, state string }{
		{"backout", "backed_out"},
		{"pause", "paused"},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			w := newWorld(t, 4, tc.mode, pgtest.DSN(t))
			a, b := w.serve("A"), w.serve("B")
			w.arm("h2", 30, false)
			id := w.start(a, "5.0")
			w.waitAt("h2", a, b)
			a.kill()
			w.waitState(id, []*server{b}, tc.state)
			raw, events := w.journal(id)
			taken := takenOver(events)
			if len(taken) != 1 || !strings.Contains(taken[0].Message, "controls.takeover: "+tc.mode) {
				t.Fatalf("want one takeover in mode %s\n%s", tc.mode, raw)
			}
			files := w.hostFiles()
			switch tc.mode {
			case "backout":
				for _, h := range w.hosts {
					if _, ok := files[h+"/current"]; ok {
						t.Errorf("host %s still has current after the backout", h)
					}
				}
			case "pause":
				if c := strings.TrimSpace(files["h1/current"]); c != "5.0" {
					t.Errorf("h1 (the canary, done before the kill) is %q, want 5.0 left as it was", c)
				}
				if _, ok := files["h4/prepared"]; ok {
					t.Errorf("paused run went on to h4")
				}
				// People decide: resume at a terminal finishes it.
				w.cli.MustExit(0, "resume", id)
				w.assertReleased(id, "5.0")
			}
		})
	}
}

func equal(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// A `golive run` at a terminal whose PostgreSQL goes away mid-run waits
// for it (it does not give up on its own), and an operator's third
// interrupt makes it give up: exit 4, the run left for `golive resume`.
func TestCLIWaitsForPostgresUntilInterrupted(t *testing.T) {
	pg, err := pgtest.Start()
	if err != nil {
		t.Skipf("no PostgreSQL for this test: %v", err)
	}
	t.Cleanup(pg.Stop)
	w := newWorld(t, 2, "", pg.NewDatabase(t))
	w.arm("h1", 1, true)
	p := w.cli.Start("run", "-r", "6.0")
	w.waitAt("h1")
	if err := pg.Down(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pg.Up() })
	time.Sleep(3 * time.Second) // h1's step ends; its journal write waits
	if p.Exited() {
		t.Fatalf("golive run gave up while PostgreSQL was down\n%s", p.Output())
	}
	for range 3 {
		p.Signal(syscall.SIGINT)
		time.Sleep(300 * time.Millisecond)
	}
	r := p.Wait()
	if r.Code != 4 || !strings.Contains(r.Stderr, "unreachable") {
		t.Errorf("want exit 4 saying PostgreSQL is unreachable\n%s", r)
	}
}

// A server stopped with SIGTERM (a rolling restart) leaves its run paused
// at a journal point and lets its lease go; another server takes it over
// at once and finishes it, unless controls.takeover is pause: then the
// run stays paused for people.
func TestStoppedServerHandsOver(t *testing.T) {
	for _, mode := range []string{"resume", "pause"} {
		t.Run(mode, func(t *testing.T) { stoppedServerHandsOver(t, mode) })
	}
}

func stoppedServerHandsOver(t *testing.T, mode string) {
	w := newWorld(t, 4, mode, pgtest.DSN(t))
	a, b := w.serve("A"), w.serve("B")
	w.arm("h2", 1, true)
	id := w.start(a, "7.0")
	w.waitAt("h2", a, b)
	a.signal(syscall.SIGTERM)
	select {
	case <-a.done:
	case <-time.After(waitTimeout):
		t.Fatalf("server A did not stop\n%s", a.stderr.String())
	}
	if code := a.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("server A exited %d after SIGTERM\n%s", code, a.stderr.String())
	}
	if mode == "pause" {
		time.Sleep(3 * (leaseTTL + heartbeat))
		raw, events := w.journal(id)
		if st := w.state(id); st != "paused" || len(takenOver(events)) != 0 {
			t.Fatalf("controls.takeover: pause: run is %s after %d takeovers, want paused and none\n%s", st, len(takenOver(events)), raw)
		}
		return
	}
	w.waitState(id, []*server{b}, "succeeded")
	w.assertReleased(id, "7.0")
	raw, events := w.journal(id)
	taken := takenOver(events)
	if len(taken) != 1 || !strings.Contains(taken[0].Message, "left the run paused") {
		t.Fatalf("want one takeover of the run A left paused\n%s", raw)
	}
	if !strings.Contains(raw, `"action":"paused"`) {
		t.Errorf("the run was not paused by the stopping server\n%s", raw)
	}
}

// A server whose plan file differs from the one the run started with (a
// change not yet rolled out to it) takes the run over, cannot continue it
// (the plan hash differs), lets the lease go and does not take it again;
// `golive resume` with the run's own plan finishes it.
func TestTakeoverWithAnotherPlanGivesUp(t *testing.T) {
	w := newWorld(t, 2, "", pgtest.DSN(t))
	text, err := os.ReadFile(w.plan)
	if err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(w.dir, "other", "golive.yaml")
	os.MkdirAll(filepath.Dir(other), 0o755)
	if err := os.WriteFile(other, append(text, "# a change not on A\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	a, b := w.serve("A"), w.serveFile("B", other)
	w.arm("h1", 30, false)
	id := w.start(a, "8.0")
	w.waitAt("h1", a, b)
	a.kill()
	deadline := time.Now().Add(waitTimeout)
	for !strings.Contains(b.stderr.String(), "not continued here") {
		if time.Now().After(deadline) {
			t.Fatalf("B never gave the run up\n%s", b.stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(3 * (leaseTTL + heartbeat)) // B would have taken it again by now
	raw, events := w.journal(id)
	if n := len(takenOver(events)); n != 1 {
		t.Fatalf("want B to take the run over once and give up, got %d takeovers\n%s", n, raw)
	}
	if st := w.state(id); st != "running" {
		t.Fatalf("run is %s, want running (left to whoever has its plan)", st)
	}
	w.cli.MustExit(0, "resume", id)
	w.assertReleased(id, "8.0")
}

// A server that died between failing a run and backing it out (the run
// is failed, its automatic backout not started): another server takes it
// over and backs it out; with backout.automatic false the failed run is
// left to people.
func TestFailedRunIsBackedOut(t *testing.T) {
	for _, auto := range []bool{true, false} {
		t.Run("automatic "+strconv.FormatBool(auto), func(t *testing.T) {
			dsn := pgtest.DSN(t)
			w := newWorld(t, 4, "", dsn)
			if !auto {
				text, _ := os.ReadFile(w.plan)
				os.WriteFile(w.plan, append(text, "backout: {automatic: false}\n"...), 0o644)
			}
			a, b := w.serve("A"), w.serve("B")
			w.arm("h2", 30, false)
			id := w.start(a, "9.0")
			w.waitAt("h2", a, b)
			a.kill()
			// What A would have written just before dying: the run failed.
			ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
			defer cancel()
			st, err := postgres.Open(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			if _, err := st.UpdateRunState(ctx, id, []store.State{store.StateRunning}, store.StateFailed, "step switch failed on h2"); err != nil {
				t.Fatal(err)
			}
			if !auto {
				time.Sleep(3 * (leaseTTL + heartbeat))
				raw, events := w.journal(id)
				if s := w.state(id); s != "failed" || len(takenOver(events)) != 0 {
					t.Fatalf("backout.automatic false: run is %s after %d takeovers, want failed and none\n%s", s, len(takenOver(events)), raw)
				}
				return
			}
			w.waitState(id, []*server{b}, "backed_out")
			files := w.hostFiles()
			for _, h := range w.hosts {
				if _, ok := files[h+"/current"]; ok {
					t.Errorf("host %s still has current after the backout", h)
				}
			}
			raw, events := w.journal(id)
			if taken := takenOver(events); len(taken) != 1 || !strings.Contains(taken[0].Message, "before its automatic backout") {
				t.Fatalf("want one takeover of the failed run\n%s", raw)
			}
		})
	}
}
