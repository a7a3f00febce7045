package crashtest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A controller paused with SIGSTOP stops renewing its run's lease; once the
// lease expired, `golive resume` on the run takes it over (although the
// paused pid is alive) and finishes it. Woken with SIGCONT, the old
// controller is fenced: it writes nothing to the journal, runs no step on
// any host, and stops.
//
// PostgreSQL only: a SQLite controller stopped inside a write transaction
// holds the database's write lock until it continues or dies, so nobody
// can take over meanwhile (PostgreSQL ends such a session after 5 s).
func TestPausedControllerIsFenced(t *testing.T) {
	t.Parallel()
	w := newWorld(t, fourHosts().on("postgres"))
	w.arm("run", "h2", "switch", 2)
	// --parallel 1: while switch sleeps on h2, the controller is doing
	// nothing else, so the pause does not land in the middle of starting
	// a command (one whose shell was started before the pause would still
	// get its script afterwards: docs/operations.md, "Locks").
	a := w.start("run", "-r", "2.0", "--parallel", "1")
	w.waitMarker(a, "run", "h2", "switch")
	a.Signal(syscall.SIGSTOP)
	stopped := true
	defer func() {
		if stopped {
			a.Signal(syscall.SIGCONT)
		}
	}()
	run := w.lastRunID()

	st := w.status(run)
	if st.Lease == nil || st.Lease.Epoch != 1 || !strings.Contains(st.Lease.Holder, fmt.Sprintf("pid %d ", a.Pid())) {
		t.Errorf("status shows lease %+v, want epoch 1 held by pid %d", st.Lease, a.Pid())
	}
	if st.ControllerGone == nil || *st.ControllerGone {
		t.Errorf("status: the paused controller counts as gone before its lease expired")
	}
	if r := w.golive("resume", run); r.Code != 3 {
		t.Errorf("resume while the paused controller's lease is fresh exited %d, want 3 (busy)\n%s", r.Code, r)
	}
	// Once the lease expired, status says the controller is gone, and
	// resume takes the run over.
	deadline := time.Now().Add(60 * time.Second)
	for {
		if g := w.status(run).ControllerGone; g != nil && *g {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("status never judged the paused controller gone\n%s", w.logsOf(run))
		}
		time.Sleep(time.Second)
	}
	w.mustExit(0, "resume", run)
	w.assertState(run, "succeeded")
	w.assertReleased("", "2.0")
	journal := w.mustExit(0, "logs", run).Stdout
	trees := w.snapshots()
	hostLogs := map[string][]byte{}
	for _, h := range w.hosts {
		hostLogs[h], _ = os.ReadFile(filepath.Join(w.logs, h+".log"))
	}

	a.Signal(syscall.SIGCONT)
	stopped = false
	res := a.Wait()
	if res.Code != 4 || !strings.Contains(res.Stderr, "run "+run+" was taken over by another controller") {
		t.Errorf("the fenced controller exited %d, want 4 saying run %s was taken over\n%s", res.Code, run, res)
	}
	if got := w.mustExit(0, "logs", run).Stdout; got != journal {
		t.Errorf("the fenced controller changed the journal:\nbefore:\n%s\nafter:\n%s", journal, got)
	}
	w.assertState(run, "succeeded")
	for h, tree := range w.snapshots() {
		if tree.String() != trees[h].String() {
			t.Errorf("the fenced controller changed host %s: %s, was %s", h, tree, trees[h])
		}
	}
	for _, h := range w.hosts {
		// The paused step's own shell ended while golive was stopped;
		// nothing after it may have run.
		now, _ := os.ReadFile(filepath.Join(w.logs, h+".log"))
		if string(now) != string(hostLogs[h]) {
			t.Errorf("the fenced controller ran something on %s:\nbefore:\n%s\nafter:\n%s\ngolive run said:\n%s\n%s", h, hostLogs[h], now, res, w.logsOf(run))
		}
	}
}
