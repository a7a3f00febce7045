package engine_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golive-dev/golive/internal/engine"
	"github.com/golive-dev/golive/internal/fleet"
	"github.com/golive-dev/golive/internal/store"
	"github.com/golive-dev/golive/internal/transport"
	sshtr "github.com/golive-dev/golive/internal/transport/ssh"
)

// newSSHFixture is newFixture with the hosts of fl (h0, h1, ...: real
// sshd, internal/fleet) reached over ssh, each working in its own /srv.
func newSSHFixture(t *testing.T, fl *fleet.Fleet, body string) *fixture {
	t.Helper()
	root := t.TempDir()
	var b strings.Builder
	fmt.Fprintf(&b, "golive: 1\nname: t\ntargets:\n  defaults: {transport: ssh, user: %s, identity_file: %s, known_hosts: %s, dir: /srv}\n  hosts:\n",
		fl.User, fl.KeyFile, fl.KnownHosts)
	for _, h := range fl.Hosts {
		fmt.Fprintf(&b, "    %s: {address: %s, port: %d, roles: [web]}\n", h.Name, h.Address, h.Port)
	}
	b.WriteString(body)
	f := &fixture{t: t, root: root, dbPath: filepath.Join(root, "state.db"), file: filepath.Join(root, "golive.yaml")}
	if err := os.WriteFile(f.file, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	f.build(nil)
	f.st = f.openStore()
	return f
}

// sshEngine is f's engine with the ssh transport.
func (f *fixture) sshEngine() *engine.Engine {
	return f.engine(func(o *engine.Options) {
		o.Transports["ssh"] = &sshtr.Transport{Grace: 300 * time.Millisecond, WaitDelay: 300 * time.Millisecond}
	})
}

// TestSSHTerminatedStepJournalsStoppedGroup (real sshd): h0 fails while
// h1, in the same batch, sleeps; max_failed 0 terminates h1's step over
// its ssh session. The transport stopped the step's process group, so the
// journal says so (remote_stopped, naming the group it journaled as
// started): a backout or resume need not look for it again, and indeed
// none does (no other stop is journaled). The group is gone on h1.
func TestSSHTerminatedStepJournalsStoppedGroup(t *testing.T) {
	t.Parallel()
	fl := fleet.Require(t, 2)
	f := newSSHFixture(t, fl, `stages:
  - name: web
    on: web
    strategy: {batch: 2, max_failed: 0}
    steps:
      - {name: a, run: echo a >> log, backout: echo undo-a >> log}
      - name: b
        run: |
          if [ "$GOLIVE_HOST" = h0 ]; then
            i=0; while [ ! -s /srv/pid ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done
            echo "h0 is broken" >&2; exit 1
          fi
          echo $$ > pid
          exec sleep 30
        backout: echo undo-b >> log
`)
	// h0's step b waits for h1's pid file: give h0 a view of it.
	if err := os.Symlink(filepath.Join(fl.Hosts[1].SrvDir, "pid"), filepath.Join(fl.Hosts[0].SrvDir, "pid")); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	out := f.startWithin(f.sshEngine(), 90*time.Second)
	if took := time.Since(start); took > 25*time.Second {
		t.Errorf("the run took %s: h1's 30s sleep was not terminated", took)
	}
	f.wantState(out, store.StateBackedOut)
	evs := f.events(out.Run.ID)
	m := match{kind: store.KindStep, host: "h1", step: "b"}
	m.action = store.ActionTerminated
	if n := count(evs, m); n != 1 {
		t.Errorf("h1 step b terminated events = %d, want 1", n)
	}
	m.action = engine.ActionRemoteStarted
	started := filter(evs, m)
	if len(started) != 1 {
		t.Fatalf("h1 step b remote_started events = %+v, want 1", started)
	}
	p, ok := transport.ParseRemoteProc(started[0].Message)
	if !ok {
		t.Fatalf("remote_started message %q names no process group", started[0].Message)
	}
	m.action = engine.ActionRemoteStopped
	stopped := filter(evs, m)
	want := fmt.Sprintf("stopped %s: its step was terminated", p)
	if len(stopped) != 1 || stopped[0].Message != want {
		t.Errorf("h1 step b remote_stopped events = %+v, want one %q", stopped, want)
	}
	if n := count(evs, match{action: engine.ActionRemoteStopped}); n != 1 {
		t.Errorf("%d remote_stopped events in all, want 1: nothing was stopped again", n)
	}
	if n := count(evs, match{action: engine.ActionRemoteStopFailed}); n != 0 {
		t.Errorf("%d remote_stop_failed events, want none", n)
	}
	b, err := os.ReadFile(filepath.Join(fl.Hosts[1].SrvDir, "pid"))
	if err != nil {
		t.Fatal(err)
	}
	if pid := strings.TrimSpace(string(b)); pid != fmt.Sprint(p.PID) {
		t.Errorf("h1's script ran as pid %s, the journal names %s", pid, p)
	}
	waitGone(t, p.PID, 5*time.Second)
	for _, h := range []string{"h0", "h1"} {
		equal(t, h+" log", linesOf(t, filepath.Join(fl.Hosts[h[1]-'0'].SrvDir, "log")), []string{"a", "undo-b", "undo-a"})
	}
}

func linesOf(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

// TestSSHStepTimeoutJournaled (real sshd): a step that outlives its
// timeout over ssh is journaled as timed out (not as failed with the
// transport's error) and the host's failure says so; its process is gone.
func TestSSHStepTimeoutJournaled(t *testing.T) {
	t.Parallel()
	fl := fleet.Require(t, 1)
	f := newSSHFixture(t, fl, `stages:
  - name: web
    on: web
    steps:
      - name: hang
        timeout: 500ms
        run: echo $$ > pid; exec sleep 30
        backout: echo undo-hang >> log
`)
	out := f.startWithin(f.sshEngine(), 60*time.Second)
	f.wantState(out, store.StateBackedOut)
	evs := f.events(out.Run.ID)
	to := filter(evs, match{kind: store.KindStep, action: store.ActionTimedOut, host: "h0", step: "hang"})
	if want := "timed out after 500ms, killed"; len(to) != 1 || to[0].Message != want {
		t.Errorf("timed_out events = %+v, want one %q", to, want)
	}
	failed := filter(evs, match{kind: store.KindHost, action: store.ActionFailed, host: "h0"})
	if want := "step hang: timed out after 500ms, killed"; len(failed) != 1 || failed[0].Message != want {
		t.Errorf("host failed events = %+v, want one %q", failed, want)
	}
	waitGone(t, readPID(t, filepath.Join(fl.Hosts[0].SrvDir, "pid")), 5*time.Second)
	equal(t, "log", linesOf(t, filepath.Join(fl.Hosts[0].SrvDir, "log")), []string{"undo-hang"})
}

// TestSSHNextBatchDialedAhead (real sshd): while a batch works, the
// engine already logs in to the next batch's hosts, so batches do not
// wait for connection set-up: h0's step (batch 1) waits until h1's sshd
// serves a connection (a child process of h1's sshd; the fleet's hosts
// share this machine's pid namespace), and fails if none comes.
func TestSSHNextBatchDialedAhead(t *testing.T) {
	t.Parallel()
	fl := fleet.Require(t, 2)
	f := newSSHFixture(t, fl, fmt.Sprintf(`stages:
  - name: web
    on: web
    strategy: {batch: 1}
    steps:
      - name: a
        run: |
          if [ "$GOLIVE_HOST" = h0 ]; then
            i=0
            until grep -qs "^PPid:[[:space:]]*%d\$" /proc/[0-9]*/status; do
              i=$((i+1)); [ $i -lt 400 ] || { echo "h1 was not dialed ahead" >&2; exit 1; }
              sleep 0.05
            done
          fi
          echo a >> log
`, fl.Hosts[1].PID))
	out := f.startWithin(f.sshEngine(), 90*time.Second)
	f.wantState(out, store.StateSucceeded)
	for i, h := range fl.Hosts {
		equal(t, h.Name+" log", linesOf(t, filepath.Join(fl.Hosts[i].SrvDir, "log")), []string{"a"})
	}
}
