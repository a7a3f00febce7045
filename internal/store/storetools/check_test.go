package storetools_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/golive-dev/golive/internal/pgtest"
	"github.com/golive-dev/golive/internal/store"
	"github.com/golive-dev/golive/internal/store/storetools"
)

var (
	cleanOnce sync.Once
	cleanDB   []byte // a SQLite store after the releases of history
	cleanErr  error
)

// cleanStore returns a new SQLite file holding history's store.
func cleanStore(t *testing.T) string {
	t.Helper()
	cleanOnce.Do(func() {
		cli := history(t, "")
		st := openSQLite(t, cli.Store) // opening checkpoints nothing; copy through the store
		dst := filepath.Join(binDir, "clean.db")
		d, err := sqliteOpen(dst)
		if err != nil {
			cleanErr = err
			return
		}
		if _, err := storetools.Copy(context.Background(), st, d, storetools.CopyOptions{}); err != nil {
			cleanErr = err
		}
		d.Close()
		cleanDB, err = os.ReadFile(dst)
		if cleanErr == nil {
			cleanErr = err
		}
	})
	if cleanErr != nil {
		t.Fatal(cleanErr)
	}
	p := filepath.Join(t.TempDir(), "state.db")
	if err := os.WriteFile(p, cleanDB, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// runsByRelease are the ids of history's runs by release.
func runsByRelease(t *testing.T, st store.Store) map[string]string {
	t.Helper()
	ids := map[string]string{}
	for _, r := range mustRuns(t, st) {
		ids[r.Release] = r.ID
	}
	return ids
}

// A defect planted with SQL, as a hand edit or a partial restore would
// leave it; {ok}, {aborted}, {backedout}, {failed} stand for the ids of
// history's succeeded (1.0), aborted (1.1), backed out (1.2) and backout
// failed (1.3) runs.
type defect struct {
	name         string
	sqlite, pg   []string
	kind, run    string // the finding expected (run: a placeholder or an id)
	seq          int64  // -1: the run's last seq + 1; -2: its last seq
	what         string // in its message
	stateSeqLast bool   // seq: the run's last state event
}

var defects = []defect{
	{name: "gap", kind: "gap", run: "{ok}", seq: 3, what: "seq 3 is missing from the journal",
		sqlite: []string{`DELETE FROM events WHERE run_id = '{ok}' AND seq = 3`},
		pg:     []string{`DELETE FROM events WHERE run_id = '{ok}' AND seq = 3`}},
	{name: "gap of several", kind: "gap", run: "{backedout}", seq: 4, what: "seqs 4-6 are missing",
		sqlite: []string{`DELETE FROM events WHERE run_id = '{backedout}' AND seq BETWEEN 4 AND 6`},
		pg:     []string{`DELETE FROM events WHERE run_id = '{backedout}' AND seq BETWEEN 4 AND 6`}},
	{name: "counter ahead", kind: "counter", run: "{aborted}", seq: -1, what: "are missing",
		sqlite: []string{`UPDATE runs SET last_seq = last_seq + 2 WHERE id = '{aborted}'`},
		pg:     []string{`UPDATE runs SET last_seq = last_seq + 2 WHERE id = '{aborted}'`}},
	{name: "counter behind", kind: "counter", run: "{failed}", seq: -2, what: "the next append would collide",
		sqlite: []string{`UPDATE runs SET last_seq = last_seq - 1 WHERE id = '{failed}'`},
		pg:     []string{`UPDATE runs SET last_seq = last_seq - 1 WHERE id = '{failed}'`}},
	{name: "state", kind: "state", run: "{ok}", stateSeqLast: true, what: "the run is running but its last state event says succeeded",
		sqlite: []string{`UPDATE runs SET state = 'running' WHERE id = '{ok}'`},
		pg:     []string{`UPDATE runs SET state = 'running' WHERE id = '{ok}'`}},
	{name: "lease of a run that ended", kind: "lease", run: "{backedout}", what: "the run is backed_out but holds a lease (holder pid 1 on ghost, epoch 7)",
		sqlite: []string{`UPDATE runs SET lease_holder = 'pid 1 on ghost', lease_epoch = 7, lease_expires_us = 4102444800000000 WHERE id = '{backedout}'`},
		pg:     []string{`UPDATE runs SET lease_holder = 'pid 1 on ghost', lease_epoch = 7, lease_expires = '2100-01-01Z' WHERE id = '{backedout}'`}},
	{name: "lock of a run that ended", kind: "lock", run: "{ok}", what: "the lock of other/prod is held by this run, which is succeeded",
		sqlite: []string{`INSERT INTO locks (plan, env, run_id, holder_pid, holder_host, acquired_us, heartbeat_us) VALUES ('other', 'prod', '{ok}', 1, 'ghost', 0, 0)`},
		pg:     []string{`INSERT INTO locks (plan, env, run_id, holder_pid, holder_host, acquired_at, heartbeat_at) VALUES ('other', 'prod', '{ok}', 1, 'ghost', now(), now())`}},
	{name: "orphan events", kind: "orphan", run: "r-ghost", what: "2 events of a run the store does not have (seq 1, 2)",
		sqlite: []string{`INSERT INTO events (run_id, seq, time_us, kind, action) VALUES ('r-ghost', 1, 0, 'run', 'started'), ('r-ghost', 2, 0, 'run', 'x')`},
		pg:     []string{`INSERT INTO events (run_id, seq, time, kind, action) VALUES ('r-ghost', 1, now(), 'run', 'started'), ('r-ghost', 2, now(), 'run', 'x')`}},
	{name: "orphan approval", kind: "orphan", run: "r-ghost", what: "an approval (approval 99) of a run the store does not have",
		sqlite: []string{`INSERT INTO approvals (id, run_id, approver, decision, time_us) VALUES (99, 'r-ghost', 'zed', 'approve', 0)`},
		pg:     []string{`INSERT INTO approvals (id, run_id, approver, decision, time) VALUES (99, 'r-ghost', 'zed', 'approve', now())`}},
	{name: "lock without run", kind: "orphan", run: "r-ghost", what: "a lock (lock other/prod) of a run the store does not have",
		sqlite: []string{`INSERT INTO locks (plan, env, run_id, holder_pid, holder_host, acquired_us, heartbeat_us) VALUES ('other', 'prod', 'r-ghost', 1, 'ghost', 0, 0)`},
		pg:     []string{`INSERT INTO locks (plan, env, run_id, holder_pid, holder_host, acquired_at, heartbeat_at) VALUES ('other', 'prod', 'r-ghost', 1, 'ghost', now(), now())`}},
	{name: "live of no run", kind: "orphan", run: "r-ghost", what: "a live release (host h9 of demo/) of a run the store does not have",
		sqlite: []string{`INSERT INTO live (plan, env, host, release, run_id, since_us) VALUES ('demo', '', 'h9', '9', 'r-ghost', 0)`},
		pg:     []string{`INSERT INTO live (plan, env, host, release, run_id, since) VALUES ('demo', '', 'h9', '9', 'r-ghost', now())`}},
}

func (d defect) expand(sqls []string, ids map[string]string) []string {
	var out []string
	for _, s := range sqls {
		out = append(out, expandIDs(s, ids))
	}
	return out
}

func expandIDs(s string, ids map[string]string) string {
	return strings.NewReplacer("{ok}", ids["1.0"], "{aborted}", ids["1.1"], "{backedout}", ids["1.2"], "{failed}", ids["1.3"]).Replace(s)
}

// want checks that rep holds exactly the finding d plants.
func (d defect) want(t *testing.T, rep *storetools.CheckReport, st store.Dumper, ids map[string]string) {
	t.Helper()
	if len(rep.Findings) != 1 {
		t.Fatalf("want 1 finding, got %d: %v", len(rep.Findings), rep.Findings)
	}
	f := rep.Findings[0]
	run := expandIDs(d.run, ids)
	seq := d.seq
	if seq < 0 || d.stateSeqLast {
		evs, err := st.Events(tctx(t), run, 0)
		if err != nil {
			t.Fatal(err)
		}
		seq = evs[len(evs)-1].Seq
		if d.seq == -1 {
			seq++
		}
		if d.stateSeqLast {
			for _, e := range evs {
				if e.Kind == store.KindState {
					seq = e.Seq
				}
			}
		}
	}
	if f.Kind != d.kind || f.RunID != run || f.Seq != seq || !strings.Contains(f.What, d.what) {
		t.Errorf("finding %+v; want kind %s, run %s, seq %d, %q", f, d.kind, run, seq, d.what)
	}
}

// Every defect planted into a real SQLite store after real releases is
// found, alone, with its run and seq; the clean store has no finding.
// The CLI prints it and exits 3.
func TestCheckSQLite(t *testing.T) {
	clean := cleanStore(t)
	rep, err := storetools.Check(tctx(t), openSQLite(t, clean), time.Now())
	if err != nil || len(rep.Findings) != 0 || rep.Contents.Runs != 4 {
		t.Fatalf("check of the clean store: %+v %v", rep, err)
	}
	if out, code := runGolive(t, "store", "check", "--store", clean); code != 0 || !strings.Contains(out, "no findings") {
		t.Errorf("golive store check of a clean store: exit %d\n%s", code, out)
	}
	for _, d := range defects {
		t.Run(d.name, func(t *testing.T) {
			path := cleanStore(t)
			st := openSQLite(t, path)
			ids := runsByRelease(t, st)
			plant(t, path, d.expand(d.sqlite, ids)...)
			rep, err := storetools.Check(tctx(t), st, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			d.want(t, rep, st, ids)
			out, code := runGolive(t, "store", "check", "--store", path)
			if f := rep.Findings; code != 3 || len(f) != 1 || !strings.Contains(out, f[0].String()) {
				t.Errorf("golive store check: exit %d, want 3 and the finding\n%s", code, out)
			}
		})
	}
}

// The same defects planted into PostgreSQL (with its references and
// triggers off, as a restore with session_replication_role = replica
// could leave them) are found the same way.
func TestCheckPostgres(t *testing.T) {
	pgtest.Shared(t)
	src := openSQLite(t, cleanStore(t))
	for _, d := range append([]defect{{name: "clean"}}, defects...) {
		t.Run(d.name, func(t *testing.T) {
			dsn := pgtest.DSN(t)
			st := openPG(t, dsn)
			if _, err := storetools.Copy(tctx(t), src, st, storetools.CopyOptions{}); err != nil {
				t.Fatal(err)
			}
			ids := runsByRelease(t, st)
			plantPG(t, dsn, d.expand(d.pg, ids)...)
			rep, err := storetools.Check(tctx(t), st, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if d.name == "clean" {
				if len(rep.Findings) != 0 {
					t.Errorf("findings in a clean store: %v", rep.Findings)
				}
				return
			}
			d.want(t, rep, st, ids)
		})
	}
}

func plantPG(t *testing.T, dsn string, stmts ...string) {
	t.Helper()
	conn, err := pgx.Connect(tctx(t), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	for _, s := range append([]string{`SET session_replication_role = replica`}, stmts...) {
		if _, err := conn.Exec(tctx(t), s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// runGolive runs the real binary and returns its output and exit code.
func runGolive(t *testing.T, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, golive(t), args...)
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "NO_COLOR=1", "GOLIVE_STORE=")
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("golive %s: %v", strings.Join(args, " "), err)
	}
	return string(out), code
}
