package engine_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golive-dev/golive/internal/engine"
	"github.com/golive-dev/golive/internal/store"
	"github.com/golive-dev/golive/internal/transport"
	"github.com/golive-dev/golive/internal/transport/local"
	"github.com/golive-dev/golive/internal/transport/ssh"
)

// TestContinueWhenLocked: a run that cannot take the lock when it is to
// start: a pending run is aborted ("not started"); a waiting run keeps
// waiting (and its approvals).
func TestContinueWhenLocked(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1, blockingStep)
	first, release := holdLock(t, f)
	defer release()
	e := f.engine(func(o *engine.Options) { o.Store = f.openStore() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, tc := range []struct {
		state, want store.State
	}{{store.StatePending, store.StateAborted}, {store.StateWaiting, store.StateWaiting}} {
		run, err := e.Create(ctx, engine.Request{Rollout: f.ro, Requester: "carol"}, tc.state, "test")
		if err != nil {
			t.Fatal(err)
		}
		out, err := e.Continue(ctx, run, f.ro)
		var locked *store.LockedError
		if !errors.As(err, &locked) || locked.Lock.RunID != first.ID {
			t.Fatalf("%s: Continue = %v, want a *store.LockedError naming %s", tc.state, err, first.ID)
		}
		got, err := f.st.GetRun(ctx, run.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.State != tc.want || out.Run.State != tc.want {
			t.Errorf("%s run after Continue: %s (outcome %s), want %s", tc.state, got.State, out.Run.State, tc.want)
		}
		if tc.want == store.StateAborted && !strings.HasPrefix(got.Reason, "not started: ") {
			t.Errorf("reason = %q, want not started: ...", got.Reason)
		}
		if n := count(f.events(run.ID), match{kind: store.KindStep}); n != 0 {
			t.Errorf("locked-out run has %d step events", n)
		}
	}
	equal(t, "log", f.log("h1"), []string{"a"})
}

// TestStepErrorsSayWhy: a step that did not exit by itself is reported by
// what happened, not as an exit code: a host that cannot be reached, an
// artifact that was not verified.
func TestStepErrorsSayWhy(t *testing.T) {
	t.Parallel()
	t.Run("unreachable", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, 0, `    edge: {transport: ssh, address: 127.0.0.1, port: 1, roles: [edge]}
stages:
  - name: edge
    on: edge
    steps:
      - {name: a, run: echo a, backout: echo undo-a}
`)
		e := f.engine(func(o *engine.Options) {
			o.Transports = map[string]transport.Transport{"local": &local.Transport{}, "ssh": &ssh.Transport{ConnectTimeout: 5 * time.Second}}
		})
		out := f.start(e)
		f.wantState(out, store.StateBackedOut)
		if !strings.Contains(out.Run.Reason, "(first: edge: step a: ") || strings.Contains(out.Run.Reason, "step a: exit") {
			t.Errorf("reason = %q, want step a's dial error, not an exit code", out.Run.Reason)
		}
		evs := f.events(out.Run.ID)
		if n := count(evs, match{kind: store.KindStep, action: store.ActionStarted, host: "edge"}); n != 0 {
			t.Errorf("step started on the unreachable host %d times, want never", n)
		}
		if n := count(evs, match{kind: store.KindStep, action: store.ActionFailed, host: "edge", step: "a"}); n != 1 {
			t.Errorf("step failed events = %d, want 1 (not started)", n)
		}
	})
	t.Run("artifact not verified", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, 1, `release:
  artifacts:
    app: {path: app.tar.gz}
stages:
  - name: web
    on: web
    steps:
      - {name: up, upload: {artifact: app, to: app.tar.gz}, backout: rm -f app.tar.gz}
`)
		out := f.start(f.engine())
		f.wantState(out, store.StateBackedOut)
		if !strings.Contains(out.Run.Reason, `step up: artifact "app" was not verified before the run`) {
			t.Errorf("reason = %q, want the unverified artifact named", out.Run.Reason)
		}
	})
}

// TestStepExitCodesJournaled: a step's exit code is journaled with its end,
// and a failure is explained by the last non-empty line of its output.
func TestStepExitCodesJournaled(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1, fmt.Sprintf(twoSteps, "", `echo b >> log; echo "disk full" >&2; echo; exit 3`))
	out := f.start(f.engine())
	f.wantState(out, store.StateBackedOut)
	if !strings.Contains(out.Run.Reason, "step b: exit 3: disk full)") {
		t.Errorf("reason = %q, want step b's exit code and last line", out.Run.Reason)
	}
	evs := f.events(out.Run.ID)
	for _, tc := range []struct {
		action store.Action
		step   string
		code   int
	}{{store.ActionFinished, "a", 0}, {store.ActionFailed, "b", 3}, {store.ActionBackedOut, "b", 0}} {
		got := filter(evs, match{kind: store.KindStep, action: tc.action, step: tc.step})
		if len(got) != 1 || got[0].ExitCode == nil || *got[0].ExitCode != tc.code {
			t.Errorf("step %s %s events %+v, want one with exit code %d", tc.step, tc.action, got, tc.code)
		}
	}
}

// TestLocalHostDirRelativeToPlan: a local host's relative dir is resolved
// (Options.Resolve: beside the plan), not taken from the working directory.
func TestLocalHostDirRelativeToPlan(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 0, `    rel: {dir: hosts/rel, roles: [web]}
stages:
  - name: web
    on: web
    steps:
      - {name: a, run: echo a >> log, backout: echo undo-a >> log}
`)
	out := f.start(f.engine(func(o *engine.Options) {
		o.Resolve = func(p string) string { return filepath.Join(f.root, p) }
	}))
	f.wantState(out, store.StateSucceeded)
	equal(t, "rel log", f.lines("hosts/rel", "log"), []string{"a"})
}

// TestWaitReadyPollsCalmly: waiting for approvals (no time to look again
// given) polls every few seconds, not in a busy loop.
func TestWaitReadyPollsCalmly(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1, fmt.Sprintf(twoSteps, "", "echo b >> log"))
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	calls := 0
	err := f.engine().WaitReady(ctx, func(time.Time) (bool, bool, *time.Time, string) {
		calls++
		return false, true, nil, "approvals: 0/1"
	})
	if !errors.Is(err, context.DeadlineExceeded) || calls != 1 {
		t.Fatalf("WaitReady = %v after %d looks in 500ms, want the deadline after 1", err, calls)
	}
}
