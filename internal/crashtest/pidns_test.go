package crashtest

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// inPIDNamespace runs golive with args (plus -f and --store) in a new pid
// namespace on the same host (same hostname): the controller running
// outside is invisible there, as between containers on the host network.
func (w *world) inPIDNamespace(args ...string) (string, int) {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	cmd := w.cli.Command(ctx, args...)
	cmd.Args = append([]string{"unshare", "--pid", "--fork", "--mount-proc"}, cmd.Args...)
	cmd.Path = "/usr/bin/unshare"
	if p, err := exec.LookPath("unshare"); err == nil {
		cmd.Path = p
	}
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		w.t.Fatalf("unshare golive %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	w.t.Logf("in a new pid namespace: golive %s: exit %d", strings.Join(args, " "), code)
	return string(out), code
}

// A controller in another pid namespace on the same host sees the same
// hostname but not the holder's pid: it must judge the holder by its
// heartbeat and leave a live controller's lock alone (status does not call
// it gone, resume and backout refuse), never steal it because the pid is
// not visible.
func TestLockNotStolenAcrossPIDNamespaces(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("needs root for unshare --pid")
	}
	if err := exec.Command("unshare", "--pid", "--fork", "--mount-proc", "true").Run(); err != nil {
		t.Skipf("cannot make a pid namespace: %v", err)
	}
	w := newWorld(t, fourHosts())
	w.arm("run", "h2", "switch", 30)
	p := w.start("run", "-r", "2.0")
	w.waitMarker(p, "run", "h2", "switch")
	run := w.lastRunID()

	out, code := w.inPIDNamespace("status", run, "--json")
	if code != 0 || !strings.Contains(out, `"controller_gone": false`) {
		t.Errorf("status from another pid namespace calls the live controller gone (exit %d)\n%s", code, out)
	}
	for _, cmd := range []string{"resume", "backout"} {
		out, code := w.inPIDNamespace(cmd, run)
		if code != 3 || !strings.Contains(out, "is being executed by pid ") || !strings.Contains(out, "another pid namespace") {
			t.Errorf("%s from another pid namespace: exit %d, want 3 (the run is being executed)\n%s", cmd, code, out)
		}
	}
	for _, ev := range w.journal(run) {
		if ev.kind == "lock" && ev.action == "stolen" {
			t.Fatalf("the lock of a live controller was stolen from another pid namespace\n%s", w.logsOf(run))
		}
	}
	if p.Exited() {
		t.Fatalf("the controller stopped\n%s", p.Output())
	}
	p.Kill()
}
