package crashtest

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A signal to the controller mid-step (Ctrl-C, `kill`, a closed terminal)
// stops the run as an abort would: the step's processes are terminated,
// what the run changed is backed out, the lock is released, exit 1.
func TestSignalMidStepBacksOut(t *testing.T) {
	t.Parallel()
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP} {
		t.Run(sig.String(), func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, fourHosts())
			w.mustExit(0, "run", "-r", "1.0")
			before := w.snapshots()
			w.armChild("run", "h2", "switch", 30)
			p := w.start("run", "-r", "2.0")
			w.waitMarker(p, "run", "h2", "switch")
			run := w.lastRunID()
			p.Signal(sig)
			r := p.Wait()
			if r.Code != 1 {
				t.Fatalf("after %v golive exited %d, want 1 (failed and backed out)\n%s", sig, r.Code, r)
			}
			if !strings.Contains(r.Stderr, "stopping run "+run) {
				t.Errorf("golive did not say what the signal does\n%s", r)
			}
			w.waitGroupGone("run", "h2", "switch")
			s := w.assertState(run, "backed_out")
			if want := "interrupted: " + sigName(sig) + " received"; !strings.Contains(s.Reason, want) {
				t.Errorf("reason %q does not say %q", s.Reason, want)
			}
			if s.Lock != nil {
				t.Errorf("the lock is still held after the backout: %+v", s.Lock)
			}
			w.assertRestored(before)
			w.assertNoLateWork()
			w.assertNoLiveRun()
			w.mustExit(0, "run", "-r", "2.0") // the environment is free
		})
	}
}

func sigName(s syscall.Signal) string {
	return map[syscall.Signal]string{syscall.SIGINT: "SIGINT", syscall.SIGTERM: "SIGTERM", syscall.SIGHUP: "SIGHUP"}[s]
}

// `golive run | head -c 100`: stdout and stderr closed by their reader
// early must not stop the release. Without SIGPIPE handled, Go kills the
// controller at its next write (exit 141) and leaves the run pending or
// running and locked.
func TestClosedStdoutDoesNotStopTheRelease(t *testing.T) {
	t.Parallel()
	w := newWorld(t, fourHosts())
	w.mustExit(0, "run", "-r", "1.0")
	// A step that takes a moment, so that golive writes long after the
	// reader is gone.
	w.arm("run", "h2", "switch", 1)
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := w.cli.Command(ctx, "run", "-r", "2.0")
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	head := make([]byte, 100)
	if _, err := io.ReadFull(pr, head); err != nil {
		t.Fatalf("reading golive's first 100 bytes: %v", err)
	}
	pr.Close() // as `head -c 100` does
	t.Logf("read %q, then closed the pipe", head)
	err = cmd.Wait()
	if err != nil {
		t.Fatalf("golive run with a closed stdout: %v (want exit 0: the release goes on)", err)
	}
	run := w.lastRunID()
	s := w.assertState(run, "succeeded")
	if s.Lock != nil {
		t.Errorf("the lock is still held: %+v", s.Lock)
	}
	w.assertReleased("1.0", "2.0")
	w.assertNoLiveRun()
}

// Signals during a backout: the first two say that the backout goes on
// and what the next one does; the third abandons it. The backout running
// is terminated, the run is left backing_out with its journal, golive
// exits 4, and `golive backout RUN` finishes exactly what is left.
func TestSignalsDuringBackout(t *testing.T) {
	t.Parallel()
	w := newWorld(t, fourHosts())
	w.mustExit(0, "run", "-r", "1.0")
	before := w.snapshots()
	w.failAt("run", "h3", "finish")
	w.armChild("backout", "h2", "switch", 30)
	p := w.start("run", "-r", "2.0", "--parallel", "1")
	w.waitMarker(p, "backout", "h2", "switch")
	run := w.lastRunID()

	for i, want := range []string{"2 more abandons it", "1 more abandons it"} {
		p.Signal(syscall.SIGINT)
		w.waitFor(p, "the message of signal "+string(rune('1'+i)), func() bool {
			return strings.Contains(p.Result().Stderr, want)
		})
		if !strings.Contains(p.Result().Stderr, "the backout of run "+run+" goes on") {
			t.Errorf("signal %d: golive does not say that the backout goes on\n%s", i+1, p.Output())
		}
	}
	time.Sleep(300 * time.Millisecond) // the backout really goes on...
	if p.Exited() || !pidRunning(w.markerPid("backout", "h2", "switch")) {
		t.Fatalf("two signals stopped the backout\n%s", p.Output())
	}
	p.Signal(syscall.SIGINT)
	r := p.Wait()
	if r.Code != 4 {
		t.Fatalf("after the third signal golive exited %d, want 4\n%s", r.Code, r)
	}
	if !strings.Contains(r.Stderr, "abandoning the backout of run "+run) || !strings.Contains(r.Stdout, "golive backout "+run) {
		t.Errorf("golive does not say that the backout was abandoned and how to finish it\n%s", r)
	}
	w.waitGroupGone("backout", "h2", "switch")
	w.assertState(run, "backing_out")
	var abandoned bool
	for _, ev := range w.journal(run) {
		abandoned = abandoned || (ev.kind == "run" && ev.action == "backout_abandoned")
	}
	if !abandoned {
		t.Errorf("the journal does not record the abandoned backout\n%s", w.logsOf(run))
	}
	_, redo := interrupted(w.journal(run))
	if len(redo) != 0 {
		t.Errorf("backouts journaled as started and never ended: %v", redo)
	}

	w.mustExit(0, "backout", run, "--parallel", "1")
	w.assertState(run, "backed_out")
	w.assertRestored(before)
	if n := w.attempts("backout", "2.0")[stepKey{"h1", "unpack"}]; n != 1 {
		t.Errorf("backout of unpack on h1 ran %d times, want 1", n)
	}
	w.assertNoLateWork()
	w.assertNoLiveRun()
}

// markerPid is the pid the step armed for PHASE-HOST-STEP wrote.
func (w *world) markerPid(phase, host, step string) int {
	w.t.Helper()
	b, err := os.ReadFile(w.sync + "/at-" + phase + "-" + host + "-" + step)
	if err != nil {
		w.t.Fatal(err)
	}
	var pid int
	for _, c := range strings.TrimSpace(string(b)) {
		pid = pid*10 + int(c-'0')
	}
	return pid
}

// `nohup golive run ...`: a controller started with SIGHUP ignored keeps
// it ignored, so closing the terminal does not stop the release.
func TestNohupKeepsSIGHUPIgnored(t *testing.T) {
	t.Parallel()
	nohup, err := exec.LookPath("nohup")
	if err != nil {
		t.Skip("no nohup")
	}
	w := newWorld(t, fourHosts())
	w.arm("run", "h2", "switch", 1)
	cmd, out := w.startUnderNohup(nohup, "run", "-r", "1.0")
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil { // nohup execs golive: same pid
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("nohup golive run after SIGHUP: %v (want exit 0)\n%s", err, out.String())
	}
	w.assertState(w.lastRunID(), "succeeded")
	w.assertReleased("", "1.0")
}

// kill -9 of `nohup golive run ...` mid-step: the step's shell is still
// stopped at once by its guard (it traps SIGHUP, which nohup had left
// ignored for everything golive started), not left to finish its sleep.
func TestNohupKillStopsStep(t *testing.T) {
	t.Parallel()
	nohup, err := exec.LookPath("nohup")
	if err != nil {
		t.Skip("no nohup")
	}
	w := newWorld(t, fourHosts())
	w.arm("run", "h2", "switch", killSleep)
	cmd, _ := w.startUnderNohup(nohup, "run", "-r", "1.0")
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil { // nohup execs golive: same pid
		t.Fatal(err)
	}
	cmd.Wait()
	w.waitShellGone("run", "h2", "switch")
	w.assertNoLateWork()
}

// startUnderNohup starts `nohup golive ARGS...` (nohup execs golive: the
// same pid) and waits until the run's h2 reached the switch step's
// synchronisation point; out collects golive's output.
func (w *world) startUnderNohup(nohup string, args ...string) (*exec.Cmd, *strings.Builder) {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	w.t.Cleanup(cancel)
	cmd := w.cli.Command(ctx, args...)
	cmd.Args = append([]string{"nohup"}, cmd.Args...)
	cmd.Path = nohup
	out := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		w.t.Fatal(err)
	}
	w.waitFor(nil, "marker at-run-h2-switch", func() bool {
		_, err := os.Stat(w.sync + "/at-run-h2-switch")
		return err == nil
	})
	return cmd, out
}

// A stdout nobody reads (a terminal frozen with Ctrl-S, `golive run |
// slow-reader`) must not hold the release up: the run ends while the
// output waits; its display catches up (or says what it dropped) later.
func TestUnreadStdoutDoesNotStallTheRelease(t *testing.T) {
	t.Parallel()
	w := newWorld(t, planOpts{hosts: 8, canary: 1, batch: 2})
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	// The smallest pipe the kernel allows (one page): a few lines fill it.
	if _, _, errno := syscall.Syscall(syscall.SYS_FCNTL, pw.Fd(), 1031 /* F_SETPIPE_SZ */, 4096); errno != 0 {
		t.Logf("F_SETPIPE_SZ: %v (the pipe keeps its default size)", errno)
	}
	cmd := w.cli.Command(ctx, "run", "-r", "1.0")
	cmd.Stdout = pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	// Nobody reads stdout until the run has ended.
	w.waitFor(nil, "the run to succeed while nobody reads its stdout", func() bool {
		r := w.golive("history", "--json")
		return strings.Contains(r.Stdout, `"state": "succeeded"`)
	})
	out, _ := io.ReadAll(pr)
	if err := <-exited; err != nil {
		t.Fatalf("golive run: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "SUCCEEDED") {
		t.Errorf("the output does not end with the outcome\n%s", out)
	}
	w.assertReleased("", "1.0")
}

// Six `golive run`s started at once: exactly one takes the environment
// lock and releases; the five others exit 3 naming the lock, and change
// nothing.
func TestSixSimultaneousRunsOneWins(t *testing.T) {
	t.Parallel()
	w := newWorld(t, fourHosts())
	w.arm("run", "h1", "unpack", 3) // the winner holds the lock a while
	var procs []*proc
	for i := range 6 {
		procs = append(procs, w.start("run", "-r", fmt.Sprintf("1.%d", i)))
	}
	winners, refused := 0, 0
	for _, p := range procs {
		r := p.Wait()
		switch {
		case r.Code == 0:
			winners++
		case r.Code == 3 && strings.Contains(r.Stderr, "is locked by run"):
			refused++
		default:
			t.Errorf("unexpected end\n%s", r)
		}
	}
	if winners != 1 || refused != 5 {
		t.Errorf("%d runs released and %d were refused, want 1 and 5", winners, refused)
	}
	w.assertNoLiveRun()
}
