package crashtest

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/golive-dev/golive/internal/pgtest"
	"github.com/golive-dev/golive/internal/store/postgres"
)

// privateServer starts a PostgreSQL of the test's own (one it may restart
// without disturbing other tests), or skips.
func privateServer(t *testing.T) *pgtest.Server {
	t.Helper()
	pgtest.Shared(t) // skips, saying why, where PostgreSQL cannot run
	srv, err := pgtest.Start()
	if err != nil {
		t.Skipf("cannot start a PostgreSQL: %v", err)
	}
	t.Cleanup(srv.Stop)
	return srv
}

// PostgreSQL crashes (immediate shutdown: every connection cut) while a
// step runs and comes back only after the step ended, so the controller's
// next journal writes find no server: its store keeps retrying, reconnects,
// and the run finishes; each step's success is journaled once, the hosts
// are exact.
func TestPostgresRestartMidRun(t *testing.T) {
	t.Parallel()
	srv := privateServer(t)
	w := newWorld(t, fourHosts())
	w.store = srv.NewDatabase(t)
	w.cli.Store = w.store
	w.arm("run", "h2", "switch", 1)
	p := w.start("run", "-r", "2.0")
	w.waitMarker(p, "run", "h2", "switch")
	if err := srv.Down(); err != nil {
		t.Fatalf("stop PostgreSQL: %v", err)
	}
	time.Sleep(4 * time.Second) // the step ends meanwhile: its result waits for the store
	if p.Exited() {
		t.Errorf("golive gave up while PostgreSQL was down:\n%s", p.Output())
	}
	if err := srv.Up(); err != nil {
		t.Fatalf("start PostgreSQL: %v", err)
	}
	r := p.Wait()
	if r.Code != 0 {
		t.Fatalf("run across a PostgreSQL restart exited %d\n%s", r.Code, r)
	}
	run := w.lastRunID()
	w.assertState(run, "succeeded")
	w.assertReleased("", "2.0")
	finished := map[stepKey]int{}
	for _, ev := range w.journal(run) {
		if ev.kind == "step" && ev.action == "finished" {
			finished[stepKey{ev.host, ev.step}]++
		}
	}
	for _, h := range w.hosts {
		for _, s := range steps {
			if n := finished[stepKey{h, s}]; n != 1 {
				t.Errorf("step %s on %s journaled finished %d time(s), want 1\n%s", s, h, n, w.logsOf(run))
			}
		}
	}
	w.assertNoLiveRun()
}

// The CLI reads a PostgreSQL store given with --store or $GOLIVE_STORE
// (status, logs, history) and never prints the password of its URL, also
// when the connection is refused.
func TestPostgresCLI(t *testing.T) {
	t.Parallel()
	w := newWorld(t, fourHosts().on("postgres"))
	w.mustExit(0, "run", "-r", "1.0")
	run := w.lastRunID()
	var outputs []string
	s := w.mustExit(0, "status", run)
	outputs = append(outputs, s.Output())
	if !strings.Contains(s.Stdout, "succeeded") || !strings.Contains(s.Stdout, run) {
		t.Errorf("status does not show the run succeeded:\n%s", s)
	}
	l := w.mustExit(0, "logs", run)
	outputs = append(outputs, l.Output())
	if !strings.Contains(l.Stdout, "step") || !strings.Contains(l.Stdout, "finished") {
		t.Errorf("logs show no finished step:\n%s", l)
	}
	// $GOLIVE_STORE instead of --store.
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, golive, "history", "-f", w.plan)
	cmd.Env = append(w.cli.Env(), "GOLIVE_STORE="+w.store)
	cmd.Dir = w.dir
	out, err := cmd.CombinedOutput()
	outputs = append(outputs, string(out))
	if err != nil || !strings.Contains(string(out), run) || !strings.Contains(string(out), "1.0") {
		t.Errorf("history with $GOLIVE_STORE: %v\n%s", err, out)
	}
	if _, err := os.Stat(w.dir + "/.golive"); err == nil {
		t.Errorf("history with $GOLIVE_STORE created a SQLite store beside the plan")
	}
	// A wrong password: refused, and neither password is printed.
	bad := strings.Replace(w.store, pgtest.Password, "Wr0ng-Pw-xyz", 1)
	for _, args := range [][]string{{"status", run, "--store", bad}, {"run", "-r", "2.0", "--store", bad}} {
		cmd := exec.CommandContext(ctx, golive, append(args, "-f", w.plan)...)
		cmd.Env, cmd.Dir = w.cli.Env(), w.dir
		out, err := cmd.CombinedOutput()
		outputs = append(outputs, string(out))
		if err == nil {
			t.Errorf("%s with a wrong password succeeded:\n%s", args[0], out)
		}
		if !strings.Contains(string(out), "***") {
			t.Errorf("%s: the error does not name the (redacted) store:\n%s", args[0], out)
		}
	}
	for i, o := range outputs {
		for _, pw := range []string{pgtest.Password, "Wr0ng-Pw-xyz"} {
			if strings.Contains(o, pw) {
				t.Errorf("output %d shows a password:\n%s", i, o)
			}
		}
	}
}

// logs --follow on a PostgreSQL store prints a run's events as they are
// committed (woken by NOTIFY) and ends when the run ends.
func TestPostgresLogsFollow(t *testing.T) {
	t.Parallel()
	w := newWorld(t, fourHosts().on("postgres"))
	w.arm("run", "h2", "switch", 2)
	p := w.start("run", "-r", "2.0")
	w.waitMarker(p, "run", "h2", "switch")
	run := w.lastRunID()
	f := w.start("logs", run, "--follow")
	if r := p.Wait(); r.Code != 0 {
		t.Fatalf("run exited %d\n%s", r.Code, r)
	}
	r := f.Wait()
	if r.Code != 0 {
		t.Fatalf("logs --follow exited %d\n%s", r.Code, r)
	}
	for _, want := range []string{"state    succeeded", "h4 finish", "lock     released"} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("logs --follow did not show %q:\n%s", want, r.Stdout)
		}
	}
}

// Several golive processes opening a new PostgreSQL database at once
// migrate it once: every one of them works, and each migration is
// recorded once.
func TestPostgresConcurrentFirstOpen(t *testing.T) {
	t.Parallel()
	w := newWorld(t, fourHosts().on("postgres"))
	const n = 6
	procs := make([]*proc, n)
	for i := range procs {
		procs[i] = w.start("history")
	}
	for i, p := range procs {
		if r := p.Wait(); r.Code != 0 {
			t.Errorf("golive history %d on a new database exited %d\n%s", i, r.Code, r)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, w.store)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var rows, versions int
	if err := conn.QueryRow(ctx, `SELECT count(*), count(DISTINCT version) FROM schema_migrations`).Scan(&rows, &versions); err != nil {
		t.Fatal(err)
	}
	if rows != postgres.SchemaVersion() || versions != rows {
		t.Errorf("schema_migrations has %d rows (%d versions), want %d", rows, versions, postgres.SchemaVersion())
	}
}
