package storetools_test

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/golive-dev/golive/internal/pgtest"
	"github.com/golive-dev/golive/internal/store"
	"github.com/golive-dev/golive/internal/store/storetools"
)

// A copy holds exactly what the source holds: every field of every run,
// event (seqs and times), approval (ids), lease, live release and lock;
// the report counts it and its checksum is the source's.
func TestCopySQLiteToSQLite(t *testing.T) {
	cli := history(t, "")
	src := openSQLite(t, cli.Store)
	dst := openSQLite(t, filepath.Join(t.TempDir(), "copy.db"))
	rep, err := storetools.Copy(tctx(t), src, dst, storetools.CopyOptions{})
	if err != nil {
		t.Fatalf("Copy: %v", err)
	}
	want, got := dump(t, src), dump(t, dst)
	if want != got {
		t.Fatalf("the copy differs from the source at %s", firstDiff(want, got))
	}
	if rep.Copied.Runs != 4 || rep.Copied.Approvals != 4 || rep.Copied.Locks != 1 || rep.Copied.Live != 2 || rep.Copied.Events < 40 {
		t.Errorf("copied %s; want 4 runs, 4 approvals, 1 lock, 2 live releases, the events", rep.Copied)
	}
	if rep.Verified != rep.Copied || len(rep.Checksum) != 64 {
		t.Errorf("verified %s, checksum %q; want what was copied and a sha256", rep.Verified, rep.Checksum)
	}
	if len(rep.Unfinished) != 0 || rep.Changed != 0 {
		t.Errorf("unfinished %v, changed %d; want none", rep.Unfinished, rep.Changed)
	}
	// The copy is a store golive works with: the history reads the same.
	hist := cli.MustExit(0, "history")
	cli.Store = dst.Path()
	if h := cli.MustExit(0, "history"); h.Stdout != hist.Stdout {
		t.Errorf("history of the copy:\n%s\nwant:\n%s", h.Stdout, hist.Stdout)
	}
}

// SQLite -> PostgreSQL -> SQLite gives back the very same store, and the
// PostgreSQL copy goes on where the source stopped: the next release
// knows the previous one, its journal starts at seq 1, its approval takes
// the next id and the lock of the run that failed its backout still
// holds.
func TestCopyRoundTripPostgres(t *testing.T) {
	pgDSN := pgtest.DSN(t)
	cli := history(t, "")
	src := openSQLite(t, cli.Store)
	pg := openPG(t, pgDSN)
	rep, err := storetools.Copy(tctx(t), src, pg, storetools.CopyOptions{})
	if err != nil {
		t.Fatalf("Copy SQLite -> PostgreSQL: %v", err)
	}
	back := openSQLite(t, filepath.Join(t.TempDir(), "back.db"))
	rep2, err := storetools.Copy(tctx(t), pg, back, storetools.CopyOptions{})
	if err != nil {
		t.Fatalf("Copy PostgreSQL -> SQLite: %v", err)
	}
	want := dump(t, src)
	if got := dump(t, pg); got != want {
		t.Fatalf("the PostgreSQL copy differs from the source at %s", firstDiff(want, got))
	}
	if got := dump(t, back); got != want {
		t.Fatalf("the round trip differs from the source at %s", firstDiff(want, got))
	}
	if rep.Checksum != rep2.Checksum {
		t.Errorf("checksums %s and %s differ", rep.Checksum, rep2.Checksum)
	}

	var maxApproval int64 // of the copied approvals
	for _, r := range mustRuns(t, pg) {
		as, _ := pg.ListApprovals(tctx(t), r.ID)
		for _, a := range as {
			maxApproval = max(maxApproval, a.ID)
		}
	}
	cli.Store = pgDSN
	// The run whose backout failed still holds the lock in PostgreSQL.
	cli.MustExit(3, "run", "-r", "2.1")
	cli.MustExit(0, "approve", "last", "--as", "alice")
	if r := cli.Run("resume", "last"); r.Code != 3 || !strings.Contains(r.Output(), "locked") {
		t.Fatalf("a release while the copied lock is held: want exit 3, locked\n%s", r)
	}
	locks := mustLocks(t, pg)
	if len(locks) != 1 {
		t.Fatalf("locks in PostgreSQL: %+v", locks)
	}
	if err := pg.ReleaseLock(tctx(t), locks[0].Plan, locks[0].Env, locks[0].RunID); err != nil {
		t.Fatal(err)
	}
	cli.MustExit(0, "resume", "last")
	last, err := pg.LatestRun(tctx(t), "demo", "")
	if err != nil {
		t.Fatal(err)
	}
	if last.Release != "2.1" || last.PreviousRelease != "1.0" || last.State != store.StateSucceeded {
		t.Errorf("release after the copy: %s previous %q %s; want 2.1 after 1.0, succeeded", last.Release, last.PreviousRelease, last.State)
	}
	as, err := pg.ListApprovals(tctx(t), last.ID)
	if err != nil || len(as) != 1 || as[0].ID != maxApproval+1 {
		t.Errorf("approvals after the copy: %+v %v; want the last with id %d", as, err, maxApproval+1)
	}
	rep3, err := storetools.Check(tctx(t), pg, time.Now())
	if err != nil || len(rep3.Findings) != 0 {
		t.Errorf("check of the PostgreSQL store after a release: %v %v", rep3, err)
	}
}

// A target that holds anything is refused, saying what it holds, and
// left as it was.
func TestCopyRefusesNonEmptyTarget(t *testing.T) {
	cli := history(t, "")
	src := openSQLite(t, cli.Store)
	dst := openSQLite(t, filepath.Join(t.TempDir(), "other.db"))
	if _, err := dst.CreateRun(tctx(t), store.Run{Plan: "other", Release: "9"}); err != nil {
		t.Fatal(err)
	}
	before := dump(t, dst)
	_, err := storetools.Copy(tctx(t), src, dst, storetools.CopyOptions{})
	if !errors.Is(err, storetools.ErrRefused) || !strings.Contains(err.Error(), "holds 1 run, 1 event, 0 approvals, 0 live releases, 0 locks") {
		t.Fatalf("copy into a store with a run: %v", err)
	}
	if after := dump(t, dst); after != before {
		t.Errorf("the refused target changed at %s", firstDiff(before, after))
	}
}

// A copy that fails after writing most of it (the source's last record is
// an orphan event, which cannot be copied) leaves the target unchanged:
// one transaction. Checked into SQLite and PostgreSQL.
func TestCopyFailureWritesNothing(t *testing.T) {
	cli := history(t, "")
	plant(t, cli.Store, `INSERT INTO events (run_id, seq, time_us, kind, action) VALUES ('r-ghost', 1, 0, 'run', 'started')`)
	src := openSQLite(t, cli.Store)
	try := func(t *testing.T, dst store.Dumper) {
		_, err := storetools.Copy(tctx(t), src, dst, storetools.CopyOptions{})
		if !errors.Is(err, storetools.ErrRefused) || !strings.Contains(err.Error(), "seq 1 of run r-ghost") {
			t.Errorf("copy of a source with an orphan event: %v", err)
		}
		if got := dump(t, dst); strings.Contains(got, `"ID": "r-`) {
			t.Errorf("the failed copy left runs in the target:\n%.400s", got)
		}
	}
	t.Run("cli", func(t *testing.T) {
		target := filepath.Join(t.TempDir(), "new.db")
		out, code := runGolive(t, "store", "copy", "--from", cli.Store, "--to", target)
		if code != 2 || !strings.Contains(out, "seq 1 of run r-ghost") {
			t.Errorf("golive store copy of a source with an orphan event: exit %d, want 2\n%s", code, out)
		}
		if _, err := os.Stat(target); !os.IsNotExist(err) {
			t.Errorf("the refused copy left the store it created: %v", err)
		}
	})
	t.Run("sqlite", func(t *testing.T) { try(t, openSQLite(t, filepath.Join(t.TempDir(), "t.db"))) })
	t.Run("postgres", func(t *testing.T) { try(t, openPG(t, pgtest.DSN(t))) })
}

// --merge adds the runs the target lacks, leaves identical ones alone (so
// copying again is a no-op), gives merged approvals new ids, and refuses
// a run that differs between the stores, writing nothing.
func TestCopyMerge(t *testing.T) {
	cli := history(t, "")
	src := openSQLite(t, cli.Store)
	dstPath := filepath.Join(t.TempDir(), "team.db")
	dst := openSQLite(t, dstPath)
	// The target has history of its own: another plan's run, approved.
	own, err := dst.CreateRun(tctx(t), store.Run{Plan: "other", Release: "9"})
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		if _, err := dst.AddApproval(tctx(t), store.Approval{RunID: own.ID, Approver: "zed", Decision: store.DecisionApprove}); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := storetools.Copy(tctx(t), src, dst, storetools.CopyOptions{Merge: true})
	if err != nil {
		t.Fatalf("merge: %v", err)
	}
	if rep.Copied.Runs != 4 || rep.Skipped != 0 || rep.Verified.Runs != 4 {
		t.Errorf("merge copied %s, skipped %d, verified %s", rep.Copied, rep.Skipped, rep.Verified)
	}
	rep, err = storetools.Copy(tctx(t), src, dst, storetools.CopyOptions{Merge: true})
	if err != nil || rep.Copied.Runs != 0 || rep.Skipped != 4 {
		t.Fatalf("merging again: %v, copied %v, skipped %d; want nothing copied, 4 skipped", err, rep, rep.Skipped)
	}
	if n := len(mustRuns(t, dst)); n != 5 {
		t.Errorf("the target has %d runs, want 5", n)
	}
	runs := mustRuns(t, src)
	// A run that went on in the source after the first copy differs.
	if _, err := src.AppendEvent(tctx(t), store.Event{RunID: runs[0].ID, Kind: store.KindRun, Action: "noted"}); err != nil {
		t.Fatal(err)
	}
	before := dump(t, dst)
	_, err = storetools.Copy(tctx(t), src, dst, storetools.CopyOptions{Merge: true})
	if !errors.Is(err, storetools.ErrRefused) || !strings.Contains(err.Error(), "run "+runs[0].ID+" is in both stores but differs") {
		t.Fatalf("merge with a differing run: %v", err)
	}
	if after := dump(t, dst); after != before {
		t.Errorf("the refused merge changed the target at %s", firstDiff(before, after))
	}
}

// Text PostgreSQL cannot keep (a NUL byte) is stored as U+FFFD, counted in
// the report, and the copy still verifies (as the target keeps it).
func TestCopyTextPostgresCannotKeep(t *testing.T) {
	dsn := pgtest.DSN(t)
	src := openSQLite(t, filepath.Join(t.TempDir(), "s.db"))
	r, err := src.CreateRun(tctx(t), store.Run{Plan: "p", Release: "1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := src.AppendEvent(tctx(t), store.Event{RunID: r.ID, Kind: "step", Action: "finished", Output: "a\x00b \xff"}); err != nil {
		t.Fatal(err)
	}
	dst := openPG(t, dsn)
	rep, err := storetools.Copy(tctx(t), src, dst, storetools.CopyOptions{})
	if err != nil {
		t.Fatalf("Copy: %v", err)
	}
	if rep.Changed != 1 {
		t.Errorf("changed %d values, want 1", rep.Changed)
	}
	evs, err := dst.Events(tctx(t), r.ID, 0)
	if err != nil || len(evs) != 2 || evs[1].Output != "a\uFFFDb \uFFFD" {
		t.Errorf("events in PostgreSQL: %+v %v", evs, err)
	}
}

// A target that does not read back as the source (a fault that cannot be
// produced for real: an importer that drops a run's last event) fails
// verification, naming the run and its last seqs.
func TestCopyVerifyCatchesLoss(t *testing.T) {
	cli := history(t, "")
	src := openSQLite(t, cli.Store)
	dst := &lossy{Dumper: openSQLite(t, filepath.Join(t.TempDir(), "lossy.db"))}
	_, err := storetools.Copy(tctx(t), src, dst, storetools.CopyOptions{})
	if !errors.Is(err, storetools.ErrMismatch) || !strings.Contains(err.Error(), "the source has") || !strings.Contains(err.Error(), "the target") {
		t.Fatalf("copy through a lossy importer: %v", err)
	}
}

type lossy struct{ store.Dumper }

func (l *lossy) Import(ctx context.Context, fill func(store.Importer) error) error {
	return l.Dumper.Import(ctx, func(im store.Importer) error { return fill(&lossyImporter{im}) })
}

type lossyImporter struct{ store.Importer }

func (l *lossyImporter) PutRun(rec store.RunRecord, newIDs bool) error {
	if len(rec.Events) > 3 {
		rec.Events = rec.Events[:len(rec.Events)-1]
	}
	return l.Importer.PutRun(rec, newIDs)
}

// plant runs SQL on the SQLite file at path with foreign keys and the
// journal's append-only triggers off, as a hand edit would.
func plant(t *testing.T, path string, stmts ...string) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, s := range append([]string{`PRAGMA foreign_keys = OFF`,
		`DROP TRIGGER IF EXISTS events_append_only_update`, `DROP TRIGGER IF EXISTS events_append_only_delete`}, stmts...) {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

func mustRuns(t *testing.T, st store.Store) []store.Run {
	t.Helper()
	runs, err := st.ListRuns(tctx(t), store.RunFilter{})
	if err != nil {
		t.Fatal(err)
	}
	return runs
}

func mustLocks(t *testing.T, st store.Store) []store.Lock {
	t.Helper()
	locks, err := st.ListLocks(tctx(t))
	if err != nil {
		t.Fatal(err)
	}
	return locks
}

// The real binary copies into PostgreSQL and checks it, never printing
// the URL's password; a second copy is refused, exit 2.
func TestCopyCLIPostgres(t *testing.T) {
	dsn := pgtest.DSN(t)
	cli := history(t, "")
	out, code := runGolive(t, "store", "copy", "--from", cli.Store, "--to", dsn)
	if code != 0 || !strings.Contains(out, "copied "+cli.Store+" -> postgres://") || !strings.Contains(out, "verified: read back 4 runs") {
		t.Fatalf("golive store copy into PostgreSQL: exit %d\n%s", code, out)
	}
	out2, code := runGolive(t, "store", "check", "--store", dsn)
	if code != 0 || !strings.Contains(out2, "no findings") {
		t.Errorf("golive store check of the copy: exit %d\n%s", code, out2)
	}
	out3, code := runGolive(t, "store", "copy", "--from", cli.Store, "--to", dsn)
	if code != 2 || !strings.Contains(out3, "the target is not empty: it holds 4 runs") {
		t.Errorf("a second copy: exit %d, want 2\n%s", code, out3)
	}
	for _, o := range []string{out, out2, out3} {
		if strings.Contains(o, pgtest.Password) {
			t.Errorf("the password was printed:\n%s", o)
		}
	}
}
