package engine_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golive-dev/golive/internal/engine"
	"github.com/golive-dev/golive/internal/load"
	"github.com/golive-dev/golive/internal/rollout"
	"github.com/golive-dev/golive/internal/store"
	"github.com/golive-dev/golive/internal/store/sqlite"
	"github.com/golive-dev/golive/internal/transport"
	"github.com/golive-dev/golive/internal/transport/local"
)

// fixture is one plan with local hosts h1..hN (each a directory under
// root), a SQLite store and the rollout built from the plan.
type fixture struct {
	t      *testing.T
	root   string
	dbPath string
	st     *sqlite.Store
	ro     *rollout.Rollout
	file   string
}

// newFixture writes a plan named "t" with n local hosts in role web and
// body (stages, verify, backout...) appended; "@ROOT@" in body is replaced
// by the fixture's root directory. It loads the plan and builds release
// 2.0 (previous 1.0).
func newFixture(t *testing.T, n int, body string) *fixture {
	t.Helper()
	return newFixtureSecrets(t, n, body, nil)
}

// newFixtureSecrets is newFixture with secrets for ${{ secrets.X }}.
func newFixtureSecrets(t *testing.T, n int, body string, secrets map[string]string) *fixture {
	t.Helper()
	root := t.TempDir()
	var b strings.Builder
	b.WriteString("golive: 1\nname: t\ntargets:\n  defaults: {transport: local}\n  hosts:\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "    h%d: {dir: %s, roles: [web]}\n", i, filepath.Join(root, fmt.Sprintf("h%d", i)))
	}
	b.WriteString(strings.ReplaceAll(body, "@ROOT@", root))
	f := &fixture{t: t, root: root, dbPath: filepath.Join(root, "state.db"), file: filepath.Join(root, "golive.yaml")}
	if err := os.WriteFile(f.file, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	f.build(secrets)
	f.st = f.openStore()
	return f
}

// build (re)loads the plan and builds the rollout with these secrets.
func (f *fixture) build(secrets map[string]string) {
	f.t.Helper()
	res, err := load.Load(load.Options{File: f.file})
	if err != nil {
		f.t.Fatalf("load: %v", err)
	}
	if res.Diags.HasErrors() {
		f.t.Fatalf("plan invalid: %v", res.Diags.Errors())
	}
	ro, err := rollout.Build(rollout.Input{Plan: res.Plan, Release: "2.0", Previous: "1.0", Secrets: secrets})
	if err != nil {
		f.t.Fatalf("build: %v", err)
	}
	f.ro = ro
}

// openStore opens (another handle on) the fixture's SQLite file.
func (f *fixture) openStore() *sqlite.Store {
	f.t.Helper()
	st, err := sqlite.Open(context.Background(), f.dbPath)
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { st.Close() })
	return st
}

// engine returns an engine on the fixture's store with local hosts whose
// interrupted scripts get SIGKILL 300ms after SIGTERM.
func (f *fixture) engine(mod ...func(*engine.Options)) *engine.Engine {
	o := engine.Options{
		Store:      f.st,
		Transports: map[string]transport.Transport{"local": &local.Transport{Grace: 300 * time.Millisecond, WaitDelay: 300 * time.Millisecond}},
		PollEvery:  time.Hour, // tests that abort set it lower; see TestWatcherDoesNotRaceStateChange
		PlanDir:    f.root,
	}
	for _, m := range mod {
		m(&o)
	}
	return engine.New(o)
}

// start runs the fixture's rollout to its end and fails the test on a
// start error, or (instead of hanging) when the run does not end within
// runDeadline.
func (f *fixture) start(e *engine.Engine) *engine.Outcome {
	f.t.Helper()
	return f.startWithin(e, runDeadline)
}

func (f *fixture) events(runID string) []store.Event {
	f.t.Helper()
	evs, err := f.st.Events(context.Background(), runID, 0)
	if err != nil {
		f.t.Fatal(err)
	}
	return evs
}

func (f *fixture) hostDir(host string) string { return filepath.Join(f.root, host) }

// lines returns the lines of a file in a host's directory (nil when it
// does not exist).
func (f *fixture) lines(host, file string) []string {
	f.t.Helper()
	data, err := os.ReadFile(filepath.Join(f.hostDir(host), file))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		f.t.Fatal(err)
	}
	return strings.Fields(string(data))
}

// log is the marker log of a host: lines its steps and backouts wrote.
func (f *fixture) log(host string) []string { return f.lines(host, "log") }

func (f *fixture) wantState(out *engine.Outcome, want store.State) {
	f.t.Helper()
	if out.Run.State != want {
		f.t.Fatalf("run state = %s (%s), want %s", out.Run.State, out.Run.Reason, want)
	}
	got, err := f.st.GetRun(context.Background(), out.Run.ID)
	if err != nil {
		f.t.Fatal(err)
	}
	if got.State != want {
		f.t.Fatalf("stored run state = %s, want %s", got.State, want)
	}
}

// match selects events; empty fields match anything.
type match struct {
	kind   store.Kind
	action store.Action
	host   string
	step   string
}

func (m match) ok(e store.Event) bool {
	return (m.kind == "" || e.Kind == m.kind) && (m.action == "" || e.Action == m.action) &&
		(m.host == "" || e.Host == m.host) && (m.step == "" || e.Step == m.step)
}

func filter(evs []store.Event, m match) []store.Event {
	var out []store.Event
	for _, e := range evs {
		if m.ok(e) {
			out = append(out, e)
		}
	}
	return out
}

func count(evs []store.Event, m match) int { return len(filter(evs, m)) }

// hostsWith returns the hosts of the events m selects, in journal order,
// each once.
func hostsWith(evs []store.Event, m match) []string {
	var hosts []string
	for _, e := range filter(evs, m) {
		if !slices.Contains(hosts, e.Host) {
			hosts = append(hosts, e.Host)
		}
	}
	return hosts
}

// waitFile waits until path exists.
func waitFile(t *testing.T, path string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		// Wait for content, not just the file: `echo x > f` creates it first.
		if st, err := os.Stat(path); err == nil && st.Size() > 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s did not appear (with content) within %s", path, within)
}

// readPID reads a pid a script wrote to a file.
func readPID(t *testing.T, path string) int {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return pid
}

// procGone reports whether process pid no longer runs (a zombie counts
// as gone).
func procGone(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return true
	}
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(l, "State:") {
			return strings.Contains(l, "Z")
		}
	}
	return false
}

// waitGone waits a little for pid to be gone; a killed process may take a
// moment to be reaped.
func waitGone(t *testing.T, pid int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !procGone(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("process %d still runs", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// equal fails the test when got != want.
func equal[T comparable](t *testing.T, what string, got, want []T) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("%s = %v, want %v", what, got, want)
	}
}

// reversed returns s reversed, with prefix added to each element.
func reversed(prefix string, s []string) []string {
	out := make([]string, 0, len(s))
	for i := len(s) - 1; i >= 0; i-- {
		out = append(out, prefix+s[i])
	}
	return out
}

// stepsStarted returns the steps journaled as started on host, in order,
// each once.
func stepsStarted(evs []store.Event, host string) []string {
	var steps []string
	for _, e := range filter(evs, match{kind: store.KindStep, action: store.ActionStarted, host: host}) {
		if !slices.Contains(steps, e.Step) {
			steps = append(steps, e.Step)
		}
	}
	return steps
}
