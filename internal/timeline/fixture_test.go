package timeline_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golive-dev/golive/internal/engine"
	"github.com/golive-dev/golive/internal/load"
	"github.com/golive-dev/golive/internal/plan"
	"github.com/golive-dev/golive/internal/rollout"
	"github.com/golive-dev/golive/internal/store"
	"github.com/golive-dev/golive/internal/store/sqlite"
	"github.com/golive-dev/golive/internal/transport"
	"github.com/golive-dev/golive/internal/transport/local"
)

// runDeadline bounds every real run of these tests.
const runDeadline = 60 * time.Second

// fixture is a plan with local hosts (directories under root) and a
// SQLite store: releases run for real, by the engine, as golive runs them.
type fixture struct {
	t    testing.TB
	root string
	st   *sqlite.Store
	ro   *rollout.Rollout
}

// newFixture writes a plan named "t" with the hosts given (each a local
// directory, role web unless the name says role:NAME after a slash) and
// body appended, loads it and builds release 2.0.
func newFixture(t testing.TB, hosts []string, body string) *fixture {
	t.Helper()
	root := t.TempDir()
	var b strings.Builder
	b.WriteString("golive: 1\nname: t\ntargets:\n  defaults: {transport: local}\n  hosts:\n")
	for i, h := range hosts {
		name, role, ok := strings.Cut(h, "/")
		if !ok {
			role = "web"
		}
		fmt.Fprintf(&b, "    %s: {dir: %s, roles: [%s]}\n", name, filepath.Join(root, fmt.Sprintf("d%d", i)), role)
	}
	b.WriteString(body)
	file := filepath.Join(root, "golive.yaml")
	if err := os.WriteFile(file, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := load.Load(load.Options{File: file})
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if res.Diags.HasErrors() {
		t.Fatalf("plan invalid: %v", res.Diags.Errors())
	}
	ro, err := rollout.Build(rollout.Input{Plan: res.Plan, Release: "2.0", Previous: "1.0"})
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	st, err := sqlite.Open(context.Background(), filepath.Join(root, "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return &fixture{t: t, root: root, st: st, ro: ro}
}

func (f *fixture) engine() *engine.Engine {
	no := false
	return engine.New(engine.Options{
		Store:      f.st,
		Transports: map[string]transport.Transport{"local": &local.Transport{Grace: 300 * time.Millisecond, WaitDelay: 300 * time.Millisecond}},
		PollEvery:  50 * time.Millisecond,
		PlanDir:    f.root,
		Approvals:  &plan.Approvals{Required: 1, Approvers: []string{"alice", "bob"}, AllowSelf: &no},
	})
}

// run starts the release and returns its run, ended or paused.
func (f *fixture) run() store.Run {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), runDeadline)
	defer cancel()
	out, err := f.engine().Start(ctx, engine.Request{Rollout: f.ro, Requester: "alice", PlanHash: "hash-1"})
	if err != nil {
		f.t.Fatalf("Start: %v", err)
	}
	return out.Run
}

// approveAndResume approves gate as bob and resumes the paused run.
func (f *fixture) approveAndResume(run store.Run, gate string) store.Run {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), runDeadline)
	defer cancel()
	if _, err := f.st.AddApproval(ctx, store.Approval{RunID: run.ID, Gate: gate, Approver: "bob", Decision: store.DecisionApprove,
		Via: store.ViaCLI, OSUser: "bob", PlanHash: "hash-1", Release: "2.0"}); err != nil {
		f.t.Fatal(err)
	}
	run, err := f.st.GetRun(ctx, run.ID)
	if err != nil {
		f.t.Fatal(err)
	}
	out, err := f.engine().Resume(ctx, run, f.ro)
	if err != nil {
		f.t.Fatalf("Resume: %v", err)
	}
	return out.Run
}

func (f *fixture) events(run store.Run) []store.Event {
	f.t.Helper()
	evs, err := f.st.Events(context.Background(), run.ID, 0)
	if err != nil {
		f.t.Fatal(err)
	}
	return evs
}
