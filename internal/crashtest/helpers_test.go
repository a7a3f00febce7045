package crashtest

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/golive-dev/golive/internal/golivetest"
	"github.com/golive-dev/golive/internal/pgtest"
)

// Generous limits: no test asserts anything about timing, these only keep
// a hung golive from hanging the package.
const (
	cmdTimeout  = 60 * time.Second // one golive command that should end by itself
	waitTimeout = 30 * time.Second // waiting for a marker, a state, an exit
	pollEvery   = 20 * time.Millisecond
	// killSleep is how long an armed step sleeps at its synchronisation
	// point; the test kills golive long before it ends.
	killSleep = 5
)

// golive is the binary TestMain built.
var golive string

func TestMain(m *testing.M) {
	os.Exit(buildAndRun(m))
}

func buildAndRun(m *testing.M) int {
	// The golive under test starts as from a terminal, whatever started the
	// suite: a SIGHUP ignored here (`nohup go test`) would be ignored in
	// every golive too (TestNohup* start golive under nohup themselves).
	if signal.Ignored(syscall.SIGHUP) {
		signal.Notify(make(chan os.Signal, 1), syscall.SIGHUP)
	}
	if _, err := exec.LookPath("sh"); err != nil {
		fmt.Println("crashtest: skipped: no sh on PATH")
		return 0
	}
	dir, err := os.MkdirTemp("", "golive-crashtest-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "crashtest:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	if golive, err = golivetest.Build(dir); err != nil {
		fmt.Println("crashtest: skipped:", err)
		return 0
	}
	return pgtest.Main(m)
}

// planOpts shape the generated plan.
type planOpts struct {
	hosts  int    // h1..hN
	canary int    // size of the first batch
	batch  int    // then batches of this size
	pause  string // strategy pause, e.g. "3s"; "" for none
	store  string // "postgres": a fresh PostgreSQL database; else a SQLite file
}

// on returns o with its store of kind ("sqlite" or "postgres").
func (o planOpts) on(kind string) planOpts {
	o.store = kind
	return o
}

// eachStore runs fn as parallel subtests on SQLite and on PostgreSQL
// (skipped, saying why, where no PostgreSQL can be started).
func eachStore(t *testing.T, fn func(t *testing.T, kind string)) {
	t.Parallel()
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			fn(t, kind)
		})
	}
}

// world is one test's plan, store, hosts, logs and sync directory.
type world struct {
	t     *testing.T
	dir   string
	plan  string
	store string
	sync  string // arm-*, fail-* (written by the test) and at-* (by steps)
	logs  string // HOST.log: one line per step or backout attempt
	hosts []string
	cli   *golivetest.CLI
}

// newWorld writes a plan with opts.hosts local hosts, each a directory
// under dir/hosts. Every step is idempotent and has an idempotent backout:
//
//	unpack: releases/V/app holds V         backout: rm -rf releases/V
//	switch: current -> releases/V          backout: current -> releases/PREV, or none
//	finish: version holds V                backout: version holds PREV, or none
//
// Every step and backout first calls `point PHASE` (PHASE is run or
// backout), which logs "PHASE STEP V" to logs/HOST.log, fails when
// sync/fail-PHASE-HOST-STEP exists, and stops at the synchronisation point
// when sync/arm-PHASE-HOST-STEP exists: it removes the arm file (one
// shot), writes its shell's pid to sync/at-PHASE-HOST-STEP and sleeps as
// many seconds as the arm file says (in a child process of the shell
// with armChild); a shell or child that wakes up logs "late-PHASE STEP V". That line must never appear: a killed or aborted
// golive must not leave its step going on.
func newWorld(t *testing.T, o planOpts) *world {
	t.Helper()
	dir := t.TempDir()
	w := &world{
		t: t, dir: dir,
		plan:  filepath.Join(dir, "golive.yaml"),
		store: filepath.Join(dir, "state", "state.db"),
		sync:  filepath.Join(dir, "sync"),
		logs:  filepath.Join(dir, "logs"),
	}
	if o.store == "postgres" {
		w.store = pgtest.DSN(t)
	}
	w.cli = &golivetest.CLI{T: t, Bin: golive, Dir: dir, Plan: w.plan, Store: w.store, User: "crashtest", Timeout: cmdTimeout}
	for _, d := range []string{w.sync, w.logs, filepath.Join(dir, "state")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	var hosts strings.Builder
	for i := 1; i <= o.hosts; i++ {
		name := fmt.Sprintf("h%d", i)
		w.hosts = append(w.hosts, name)
		fmt.Fprintf(&hosts, "    %s: {dir: %q, roles: [web]}\n", name, w.hostDir(name))
	}
	strategy := fmt.Sprintf("{canary: %d, batch: %d, max_failed: 0", o.canary, o.batch)
	if o.pause != "" {
		strategy += ", pause: " + o.pause
	}
	strategy += "}"
	plan := fmt.Sprintf(planTemplate, w.sync, w.logs, hosts.String(), strategy)
	if err := os.WriteFile(w.plan, []byte(plan), 0o644); err != nil {
		t.Fatal(err)
	}
	return w
}

const planTemplate = `golive: 1
name: crash
description: golive crash test plan
owner: crashtest
contacts: ["crashtest@example.com"]
success_criteria: "every host has current -> releases/VERSION and version VERSION"

vars:
  lib: |
    S="%s"; L="%s"
    log() { echo "$1 $GOLIVE_STEP $GOLIVE_RELEASE" >>"$L/$GOLIVE_HOST.log"; }
    point() {
      log "$1"
      p="$1-$GOLIVE_HOST-$GOLIVE_STEP"
      if [ -e "$S/fail-$p" ]; then echo "failing on purpose" >&2; exit 1; fi
      if [ -e "$S/arm-$p" ]; then
        s=$(cat "$S/arm-$p"); rm -f "$S/arm-$p"
        echo $$ >"$S/at-$p.tmp" && mv "$S/at-$p.tmp" "$S/at-$p"
        case "$s" in
        0) ;;
        child:*) n=${s#child:}; ( sleep "$n"; log "late-$1" ) ;;
        *) sleep "$s"; log "late-$1" ;;
        esac
      fi
    }

targets:
  defaults: {transport: local}
  hosts:
%s
stages:
  - name: web
    on: all
    strategy: %s
    steps:
      - name: unpack
        run: |
          set -eu
          ${{ vars.lib }}
          point run
          mkdir -p "releases/$GOLIVE_RELEASE"
          echo "$GOLIVE_RELEASE" >"releases/$GOLIVE_RELEASE/app"
        backout: |
          set -eu
          ${{ vars.lib }}
          point backout
          if [ "$GOLIVE_RELEASE" != "$GOLIVE_PREVIOUS" ]; then rm -rf "releases/$GOLIVE_RELEASE"; fi
          rmdir releases 2>/dev/null || true
      - name: switch
        run: |
          set -eu
          ${{ vars.lib }}
          point run
          test -f "releases/$GOLIVE_RELEASE/app"
          ln -sfn "releases/$GOLIVE_RELEASE" current.tmp
          mv -T current.tmp current
        backout: |
          set -eu
          ${{ vars.lib }}
          point backout
          if [ -n "$GOLIVE_PREVIOUS" ] && [ -d "releases/$GOLIVE_PREVIOUS" ]; then
            ln -sfn "releases/$GOLIVE_PREVIOUS" current.tmp
            mv -T current.tmp current
          else
            rm -f current current.tmp
          fi
      - name: finish
        run: |
          set -eu
          ${{ vars.lib }}
          point run
          echo "$GOLIVE_RELEASE" >version
        backout: |
          set -eu
          ${{ vars.lib }}
          point backout
          if [ -n "$GOLIVE_PREVIOUS" ]; then echo "$GOLIVE_PREVIOUS" >version; else rm -f version; fi
`

// steps are the plan's steps in order.
var steps = []string{"unpack", "switch", "finish"}

func (w *world) hostDir(h string) string { return filepath.Join(w.dir, "hosts", h) }

// arm makes the next PHASE of STEP on HOST stop at its synchronisation
// point for secs seconds (0: only write the marker).
func (w *world) arm(phase, host, step string, secs int) {
	w.t.Helper()
	p := filepath.Join(w.sync, fmt.Sprintf("arm-%s-%s-%s", phase, host, step))
	if err := os.WriteFile(p, []byte(strconv.Itoa(secs)), 0o644); err != nil {
		w.t.Fatal(err)
	}
}

// armChild is arm, but the sleep and the "late" line happen in a child
// process of the step's shell (a subshell), as a command a script runs
// (tar, a migration) would.
func (w *world) armChild(phase, host, step string, secs int) {
	w.t.Helper()
	p := filepath.Join(w.sync, fmt.Sprintf("arm-%s-%s-%s", phase, host, step))
	if err := os.WriteFile(p, []byte("child:"+strconv.Itoa(secs)), 0o644); err != nil {
		w.t.Fatal(err)
	}
}

// failAt makes every PHASE of STEP on HOST fail.
func (w *world) failAt(phase, host, step string) {
	w.t.Helper()
	p := filepath.Join(w.sync, fmt.Sprintf("fail-%s-%s-%s", phase, host, step))
	if err := os.WriteFile(p, nil, 0o644); err != nil {
		w.t.Fatal(err)
	}
}

// result is how a finished golive command ended; proc is golive running
// in the background.
type (
	result = golivetest.Result
	proc   = golivetest.Proc
)

// golive runs golive with args (plus -f and --store) to its end.
func (w *world) golive(args ...string) result {
	w.t.Helper()
	return w.cli.Run(args...)
}

// mustExit runs golive and fails the test unless it exits with code.
func (w *world) mustExit(code int, args ...string) result {
	w.t.Helper()
	return w.cli.MustExit(code, args...)
}

// start starts golive with args (plus -f and --store) without waiting.
// The test's cleanup kills it if it still runs.
func (w *world) start(args ...string) *proc {
	w.t.Helper()
	return w.cli.Start(args...)
}

// waitMarker waits until the step armed for PHASE-HOST-STEP has reached
// its synchronisation point, failing if golive exits first.
func (w *world) waitMarker(p *proc, phase, host, step string) {
	w.t.Helper()
	marker := filepath.Join(w.sync, fmt.Sprintf("at-%s-%s-%s", phase, host, step))
	w.waitFor(p, "marker "+filepath.Base(marker), func() bool {
		_, err := os.Stat(marker)
		return err == nil
	})
}

// waitShellGone waits until the shell that reached the synchronisation
// point PHASE-HOST-STEP (its pid is in the marker) has exited. A shell
// that lives on would wake up later and log "late-PHASE", which
// assertNoLateWork reports; waiting here makes that certain to be seen.
func (w *world) waitShellGone(phase, host, step string) {
	w.t.Helper()
	marker := filepath.Join(w.sync, fmt.Sprintf("at-%s-%s-%s", phase, host, step))
	b, err := os.ReadFile(marker)
	if err != nil {
		w.t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		w.t.Fatalf("marker %s: %v", marker, err)
	}
	w.waitFor(nil, fmt.Sprintf("exit of the %s shell of %s on %s (pid %d)", phase, step, host, pid), func() bool {
		return !pidRunning(pid)
	})
}

// waitGroupGone waits until no process of the process group of the shell
// that reached PHASE-HOST-STEP is left (the local transport makes the
// shell the leader of its own group, so the group id is its pid).
func (w *world) waitGroupGone(phase, host, step string) {
	w.t.Helper()
	marker := filepath.Join(w.sync, fmt.Sprintf("at-%s-%s-%s", phase, host, step))
	b, err := os.ReadFile(marker)
	if err != nil {
		w.t.Fatal(err)
	}
	pgid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		w.t.Fatalf("marker %s: %v", marker, err)
	}
	w.waitFor(nil, fmt.Sprintf("exit of every process of the %s of %s on %s (group %d)", phase, step, host, pgid), func() bool {
		return !groupRunning(pgid)
	})
}

// groupRunning reports whether a process of group pgid has not exited.
func groupRunning(pgid int) bool {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return false
	}
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) < 3 || f[0] == "Z" || f[0] == "X" {
			continue
		}
		if g, err := strconv.Atoi(f[2]); err == nil && g == pgid {
			return true
		}
	}
	return false
}

// waitFor polls cond until it holds, failing the test after waitTimeout
// or when p (if not nil) exits first.
func (w *world) waitFor(p *proc, what string, cond func() bool) {
	w.t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if p != nil && p.Exited() {
			w.t.Fatalf("golive exited while the test waited for %s\n%s", what, p.Output())
		}
		if time.Now().After(deadline) {
			out := ""
			if p != nil {
				out = p.Output()
			}
			w.t.Fatalf("no %s within %v\n%s", what, waitTimeout, out)
		}
		time.Sleep(pollEvery)
	}
}

// status is `golive status RUN --json`.
type status struct {
	ID      string            `json:"id"`
	Release string            `json:"release"`
	State   string            `json:"state"`
	Reason  string            `json:"reason"`
	Hosts   map[string]string `json:"hosts"`
	Lock    *struct {
		Holder string `json:"holder"`
	} `json:"lock"`
	Lease *struct {
		Holder string `json:"holder"`
		Epoch  int64  `json:"epoch"`
	} `json:"lease"`
	ControllerGone *bool `json:"controller_gone"`
}

func (w *world) status(run string) status {
	w.t.Helper()
	r := w.mustExit(0, "status", run, "--json")
	var s status
	if err := json.Unmarshal([]byte(r.Stdout), &s); err != nil {
		w.t.Fatalf("status --json: %v\n%s", err, r)
	}
	return s
}

// assertState fails unless run is in state.
func (w *world) assertState(run, state string) status {
	w.t.Helper()
	s := w.status(run)
	if s.State != state {
		w.t.Errorf("run %s is %q (%s), want %q\n%s", run, s.State, s.Reason, state, w.logsOf(run))
	}
	return s
}

// assertNoLiveRun fails for every run of the plan that is not in a
// terminal state: nothing may be left "running" with nothing running it.
func (w *world) assertNoLiveRun() {
	w.t.Helper()
	r := w.mustExit(0, "history", "--json", "--limit", "100")
	var runs []status
	if err := json.Unmarshal([]byte(r.Stdout), &runs); err != nil {
		w.t.Fatalf("history --json: %v\n%s", err, r)
	}
	for _, run := range runs {
		if run.ControllerGone != nil && *run.ControllerGone {
			w.t.Errorf("run %s is marked controller_gone", run.ID)
		}
		switch run.State {
		case "succeeded", "backed_out", "aborted":
		default:
			w.t.Errorf("run %s (release %s) is left %q: %s", run.ID, run.Release, run.State, run.Reason)
		}
	}
}

// assertDeadHolder checks what status says about a run whose controller
// was killed: still state, the lock held by the dead pid.
func (w *world) assertDeadHolder(run, state string, dead *proc) {
	w.t.Helper()
	s := w.status(run)
	w.t.Logf("status after kill -9: state %q, lock %+v", s.State, s.Lock)
	if s.State != state {
		w.t.Errorf("after kill -9 the run is %q, want %q (the journal's truth)", s.State, state)
	}
	if s.Lock == nil {
		w.t.Errorf("after kill -9 status shows no lock for run %s", run)
	} else if want := fmt.Sprintf("pid %d on ", dead.Pid()); !strings.HasPrefix(s.Lock.Holder, want) {
		w.t.Errorf("lock holder %q, want the killed controller (%s...)", s.Lock.Holder, want)
	}
	if s.ControllerGone == nil || !*s.ControllerGone {
		w.t.Errorf("after kill -9 status --json does not say controller_gone: true (got %v)", s.ControllerGone)
	}
	if pidRunning(dead.Pid()) {
		w.t.Errorf("killed golive pid %d still runs", dead.Pid())
	}
}

// assertLockedBy checks that a new run of another release is refused with
// exit 3, naming the dead run that holds the lock.
func (w *world) assertLockedBy(run string) {
	w.t.Helper()
	r := w.mustExit(3, "run", "-r", "9.9")
	if !strings.Contains(r.Stdout+r.Stderr, run) {
		w.t.Errorf("the refused run does not name the run holding the lock (%s)\n%s", run, r)
	}
}

// assertTakenOver checks that the journal records the lock taken over
// from the dead controller.
func (w *world) assertTakenOver(run string) {
	w.t.Helper()
	for _, ev := range w.journal(run) {
		if ev.kind == "lock" && ev.action == "stolen" {
			return
		}
	}
	w.t.Errorf("the journal of run %s does not record the lock taken over from the dead controller\n%s", run, w.logsOf(run))
}

// pidRunning reports whether pid is a process that has not exited.
func pidRunning(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 >= len(s) {
		return false
	}
	return s[i+2] != 'Z' && s[i+2] != 'X'
}

// logsOf is `golive logs RUN`, for failure messages.
func (w *world) logsOf(run string) string {
	r := w.golive("logs", run)
	return "--- golive logs " + run + ":\n" + r.Stdout + r.Stderr
}

// event is one journal line of `golive logs`.
type event struct{ kind, action, stage, host, step string }

// journal parses `golive logs RUN`.
func (w *world) journal(run string) []event {
	w.t.Helper()
	r := w.mustExit(0, "logs", run)
	var evs []event
	for _, line := range strings.Split(r.Stdout, "\n") {
		if line == "" || strings.HasPrefix(line, " ") {
			continue // output tails
		}
		f := strings.Fields(line)
		if len(f) < 4 {
			continue
		}
		ev := event{kind: f[2], action: f[3]}
		if ev.kind == "step" && len(f) >= 7 {
			ev.stage, ev.host, ev.step = f[4], f[5], strings.TrimSuffix(f[6], ":")
		}
		evs = append(evs, ev)
	}
	return evs
}

// stepKey is a step on a host.
type stepKey struct{ host, step string }

// interrupted returns the steps the journal shows started but not ended
// (finished, failed, terminated) — what a resume runs again — and the
// steps whose backout started but did not end.
func interrupted(evs []event) (steps, backouts map[stepKey]bool) {
	steps, backouts = map[stepKey]bool{}, map[stepKey]bool{}
	for _, ev := range evs {
		if ev.kind != "step" {
			continue
		}
		k := stepKey{ev.host, ev.step}
		switch ev.action {
		case "started":
			steps[k] = true
		case "finished", "failed", "terminated", "timed_out", "skipped", "retried":
			delete(steps, k)
		case "backout_started":
			backouts[k] = true
		case "backed_out", "backout_failed":
			delete(backouts, k)
		}
	}
	return steps, backouts
}

// started returns the steps the journal shows started.
func started(evs []event) map[stepKey]bool {
	out := map[stepKey]bool{}
	for _, ev := range evs {
		if ev.kind == "step" && ev.action == "started" {
			out[stepKey{ev.host, ev.step}] = true
		}
	}
	return out
}

// attempts counts the lines "PHASE STEP RELEASE" per step in host logs.
func (w *world) attempts(phase, release string) map[stepKey]int {
	w.t.Helper()
	out := map[stepKey]int{}
	for _, h := range w.hosts {
		b, err := os.ReadFile(filepath.Join(w.logs, h+".log"))
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			w.t.Fatal(err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			f := strings.Fields(line)
			if len(f) == 3 && f[0] == phase && f[2] == release {
				out[stepKey{h, f[1]}]++
			}
		}
	}
	return out
}

// assertNoLateWork fails if any step or backout went on after the
// controller that ran it was killed or aborted it.
func (w *world) assertNoLateWork() {
	w.t.Helper()
	for _, phase := range []string{"run", "backout"} {
		for _, rel := range []string{"1.0", "2.0"} {
			for k, n := range w.attempts("late-"+phase, rel) {
				w.t.Errorf("%s of step %s on %s (release %s) went on %d time(s) after its controller was gone or stopped it", phase, k.step, k.host, rel, n)
			}
		}
	}
}

// tree is a snapshot of a host directory: relative path -> what it is.
type tree map[string]string

func (w *world) snapshot(host string) tree {
	w.t.Helper()
	root := w.hostDir(host)
	out := tree{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if os.IsNotExist(err) && path == root {
			return filepath.SkipDir
		}
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		switch {
		case path == root:
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(path)
			if err != nil {
				return err
			}
			out[rel] = "link -> " + target
		case d.IsDir():
			out[rel] = "dir"
		default:
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			out[rel] = "file " + strconv.Quote(string(b))
		}
		return nil
	})
	if err != nil {
		w.t.Fatal(err)
	}
	return out
}

func (w *world) snapshots() map[string]tree {
	out := map[string]tree{}
	for _, h := range w.hosts {
		out[h] = w.snapshot(h)
	}
	return out
}

func (t tree) String() string {
	if len(t) == 0 {
		return "(nothing)"
	}
	var lines []string
	for p, what := range t {
		lines = append(lines, p+": "+what)
	}
	sort.Strings(lines)
	return strings.Join(lines, "; ")
}

// assertRestored fails for every host whose directory differs from before.
func (w *world) assertRestored(before map[string]tree) {
	w.t.Helper()
	for _, h := range w.hosts {
		if got := w.snapshot(h); got.String() != before[h].String() {
			w.t.Errorf("host %s is not as before the run:\n  got  %s\n  want %s", h, got, before[h])
		}
	}
}

// releasedTree is what a host holds after releases prev (if any) and v.
func releasedTree(prev, v string) tree {
	t := tree{
		"releases":               "dir",
		"releases/" + v:          "dir",
		"releases/" + v + "/app": "file " + strconv.Quote(v+"\n"),
		"current":                "link -> releases/" + v,
		"version":                "file " + strconv.Quote(v+"\n"),
	}
	if prev != "" && prev != v {
		t["releases/"+prev] = "dir"
		t["releases/"+prev+"/app"] = "file " + strconv.Quote(prev+"\n")
	}
	return t
}

// assertReleased fails for every host that does not hold exactly v live
// (and prev beside it).
func (w *world) assertReleased(prev, v string) {
	w.t.Helper()
	want := releasedTree(prev, v)
	for _, h := range w.hosts {
		if got := w.snapshot(h); got.String() != want.String() {
			w.t.Errorf("host %s after release %s:\n  got  %s\n  want %s", h, v, got, want)
		}
	}
}

// runID returns the id of the plan's latest run.
func (w *world) lastRunID() string {
	w.t.Helper()
	return w.status("last").ID
}
