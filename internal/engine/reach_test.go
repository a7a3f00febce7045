package engine_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golive-dev/golive/internal/engine"
	"github.com/golive-dev/golive/internal/store"
	"github.com/golive-dev/golive/internal/transport"
	"github.com/golive-dev/golive/internal/transport/local"
	"github.com/golive-dev/golive/internal/transport/ssh"
)

// TestPreflightChangesNothing: preflight runs each check on the controller
// or on each target it names, in plan order, with the host's environment,
// and creates nothing (not even a host's directory).
func TestPreflightChangesNothing(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 2, `preflight:
  - {name: ctl, local: true, run: 'echo "ctl $GOLIVE_RELEASE $GOLIVE_PREVIOUS host=$GOLIVE_HOST"'}
  - {name: tools, on: web, run: 'echo "on $GOLIVE_HOST"; [ "$GOLIVE_HOST" != h2 ]', timeout: 2s, interval: 50ms}
stages:
  - name: web
    on: web
    steps:
      - {name: a, run: echo a >> log, backout: echo undo-a >> log}
`)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res := f.engine().Preflight(ctx, f.ro)
	type row struct {
		check, host string
		ok          bool
	}
	var got []row
	for _, r := range res {
		got = append(got, row{r.Check, r.Host, r.OK})
	}
	equal(t, "preflight results", got, []row{{"ctl", "", true}, {"tools", "h1", true}, {"tools", "h2", false}})
	if !strings.Contains(res[0].Output, "ctl 2.0 1.0 host=\n") {
		t.Errorf("controller check output %q, want the release, previous and no host", res[0].Output)
	}
	if !strings.Contains(res[1].Output, "on h1") || !strings.Contains(res[2].Output, "on h2") {
		t.Errorf("per-host outputs %q, %q: want each host's GOLIVE_HOST", res[1].Output, res[2].Output)
	}
	if !strings.HasPrefix(res[2].Detail, "timed out after 2s") {
		t.Errorf("h2 detail = %q", res[2].Detail)
	}
	for _, h := range []string{"h1", "h2"} {
		if _, err := os.Stat(f.hostDir(h)); err == nil {
			t.Errorf("preflight created %s", f.hostDir(h))
		}
	}
}

// TestReachNamesUnreachableHosts: Reach dials the hosts that are not local
// and reports the ones that cannot be reached, by name; local hosts are
// not its business.
func TestReachNamesUnreachableHosts(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1, `    edge: {transport: ssh, address: 127.0.0.1, port: 1, roles: [edge]}
stages:
  - name: web
    on: web
    steps:
      - {name: a, run: echo a >> log, backout: echo undo-a >> log}
  - name: edge
    on: edge
    steps:
      - {name: a, run: echo a >> log, backout: echo undo-a >> log}
`)
	e := f.engine(func(o *engine.Options) {
		o.Transports = map[string]transport.Transport{
			"local": &local.Transport{},
			"ssh":   &ssh.Transport{ConnectTimeout: 5 * time.Second},
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	problems := e.Reach(ctx, f.ro)
	if len(problems) != 1 || problems["edge"] == nil {
		t.Fatalf("Reach = %v, want a problem for edge only", problems)
	}
	if _, err := os.Stat(f.hostDir("h1")); err == nil {
		t.Errorf("Reach created %s", f.hostDir("h1"))
	}
}

// perTargetVerify: verify runs on each web host; it fails on a host whose
// bad-HOST marker exists.
const perTargetVerify = `stages:
  - name: web
    on: web
    strategy: {canary: 1}
    steps:
      - {name: a, run: echo a >> log, backout: echo undo-a >> log}
    health:
      - {name: logged, run: 'grep -q a log', timeout: 2s, interval: 50ms}
verify:
  - {name: each, on: web, run: 'echo "v $GOLIVE_HOST" >> @ROOT@/verify.log; [ ! -f @ROOT@/bad-$GOLIVE_HOST ]', timeout: 2s, interval: 50ms}
`

// TestVerifyOnEachTarget: a verify check with `on` runs on every host it
// names; one failing host fails the run and is named.
func TestVerifyOnEachTarget(t *testing.T) {
	t.Parallel()
	t.Run("passes", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, 2, perTargetVerify)
		out := f.start(f.engine())
		f.wantState(out, store.StateSucceeded)
		got, _ := os.ReadFile(filepath.Join(f.root, "verify.log"))
		equal(t, "verify.log", strings.Split(strings.TrimSpace(string(got)), "\n"), []string{"v h1", "v h2"})
		evs := f.events(out.Run.ID)
		equal(t, "hosts verified", hostsWith(evs, match{kind: store.KindCheck, action: store.ActionPassed, step: "each"}), []string{"h1", "h2"})
	})
	t.Run("fails on h2", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, 2, perTargetVerify)
		if err := os.WriteFile(filepath.Join(f.root, "bad-h2"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		out := f.start(f.engine())
		f.wantState(out, store.StateBackedOut)
		if !strings.Contains(out.Run.Reason, "verification failed") || !strings.Contains(out.Run.Reason, "h2") {
			t.Errorf("reason = %q, want verification failed on h2", out.Run.Reason)
		}
		evs := f.events(out.Run.ID)
		if n := count(evs, match{kind: store.KindCheck, action: store.ActionFailed, host: "h2", step: "each"}); n != 1 {
			t.Errorf("check failed events on h2 = %d", n)
		}
		for _, h := range []string{"h1", "h2"} {
			equal(t, h+" log", f.log(h), []string{"a", "undo-a"})
		}
	})
}

// TestCheckLive: after a release, CheckLive runs the health and verify
// checks again and names what does not pass, changing nothing.
func TestCheckLive(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 2, perTargetVerify)
	e := f.engine()
	out := f.start(e)
	f.wantState(out, store.StateSucceeded)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if p := e.CheckLive(ctx, out.Run, f.ro); len(p) != 0 {
		t.Fatalf("CheckLive after a clean release = %q, want nothing", p)
	}
	if err := os.Remove(filepath.Join(f.hostDir("h2"), "log")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(f.root, "bad-h1"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	p := e.CheckLive(ctx, out.Run, f.ro)
	if len(p) != 2 || !slices.ContainsFunc(p, func(s string) bool { return strings.Contains(s, "logged") && strings.Contains(s, "h2") }) ||
		!slices.ContainsFunc(p, func(s string) bool { return strings.Contains(s, "each") && strings.Contains(s, "h1") }) {
		t.Fatalf("CheckLive = %q, want h2's health check and h1's verify", p)
	}
	if got, _ := f.st.GetRun(ctx, out.Run.ID); got.State != store.StateSucceeded {
		t.Errorf("run state after CheckLive = %s", got.State)
	}
}
