package storetools_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golive-dev/golive/internal/pgtest"
	"github.com/golive-dev/golive/internal/store"
	"github.com/golive-dev/golive/internal/store/storetools"
)

var serverT0 = time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)

// serverHistory writes what a `golive serve` remembers into st, through
// its own API: two webhook deliveries seen, a browser session, two
// refused deliveries in the audit.
func serverHistory(t *testing.T, st store.Store) store.ServerStore {
	t.Helper()
	ss := store.ServerStoreOf(st)
	for i, id := range []string{"gh-1001", "gh-1002"} {
		if _, err := ss.RecordDelivery(tctx(t), store.Delivery{Plan: "web", ID: id, Time: serverT0.Add(time.Duration(i) * time.Minute)}, time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := ss.CreateSession(tctx(t), store.Session{IDHash: strings.Repeat("ab", 32), Name: "alice",
		TokenSHA256: strings.Repeat("cd", 32), Created: serverT0, Expires: serverT0.Add(12 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	for _, why := range []string{"bad signature", "replayed delivery gh-1001"} {
		if _, err := ss.AddAudit(tctx(t), store.AuditEntry{Time: serverT0.Add(time.Hour), Kind: store.AuditWebhookRefused,
			Plan: "web", Remote: "192.0.2.9:5000", Reason: why}); err != nil {
			t.Fatal(err)
		}
	}
	return ss
}

// A copy keeps what `golive serve` remembers: a delivery replayed against
// the new store is still refused, the browser session still signs in and
// the audit of refused deliveries is all there; SQLite -> PostgreSQL ->
// SQLite gives back the same store, verified with the same checksum.
func TestCopyKeepsServerTables(t *testing.T) {
	src := openSQLite(t, filepath.Join(t.TempDir(), "src.db"))
	serverHistory(t, src)
	pg := openPG(t, pgtest.DSN(t))
	rep, err := storetools.Copy(tctx(t), src, pg, storetools.CopyOptions{})
	if err != nil {
		t.Fatalf("Copy SQLite -> PostgreSQL: %v", err)
	}
	c := rep.Copied
	if c.Deliveries != 2 || c.Sessions != 1 || c.Audit != 2 || rep.Verified != c {
		t.Errorf("copied %s, verified %s; want 2 deliveries, 1 session, 2 audit entries", c, rep.Verified)
	}
	if !strings.Contains(c.String(), "2 webhook deliveries, 1 browser session, 2 audit entries") {
		t.Errorf("the report says %q", c)
	}
	back := openSQLite(t, filepath.Join(t.TempDir(), "back.db"))
	rep2, err := storetools.Copy(tctx(t), pg, back, storetools.CopyOptions{})
	if err != nil {
		t.Fatalf("Copy PostgreSQL -> SQLite: %v", err)
	}
	want := dump(t, src)
	for name, st := range map[string]store.Dumper{"PostgreSQL": pg, "round trip": back} {
		if got := dump(t, st); got != want {
			t.Errorf("the %s copy differs from the source at %s", name, firstDiff(want, got))
		}
	}
	if rep.Checksum != rep2.Checksum {
		t.Errorf("checksums %s and %s differ", rep.Checksum, rep2.Checksum)
	}
	ss := store.ServerStoreOf(pg)
	if fresh, err := ss.RecordDelivery(tctx(t), store.Delivery{Plan: "web", ID: "gh-1001"}, serverT0.Add(-time.Hour)); err != nil || fresh {
		t.Errorf("a delivery replayed against the copy: fresh %v, %v; want refused as a replay", fresh, err)
	}
	if s, err := ss.GetSession(tctx(t), strings.Repeat("ab", 32), serverT0.Add(time.Hour)); err != nil || s.Name != "alice" {
		t.Errorf("the copied session: %+v, %v", s, err)
	}
	a, err := ss.AddAudit(tctx(t), store.AuditEntry{Kind: store.AuditWebhookRefused, Reason: "after the move"})
	if list, _ := ss.ListAudit(tctx(t), store.AuditFilter{}); err != nil || len(list) != 3 || list[0].ID != a.ID || a.ID <= list[1].ID {
		t.Errorf("audit after the copy: %+v (added %+v, %v); want the new entry after the copied ones", list, a, err)
	}
}

// Text PostgreSQL cannot keep in a delivery id or an audit reason (kept
// by SQLite as it came) is copied as U+FFFD, counted, and verified as
// PostgreSQL keeps it; a merge again changes nothing.
func TestCopyServerTextPostgresCannotKeep(t *testing.T) {
	dsn := pgtest.DSN(t)
	src := openSQLite(t, filepath.Join(t.TempDir(), "src.db"))
	ss := store.ServerStoreOf(src)
	if _, err := ss.RecordDelivery(tctx(t), store.Delivery{Plan: "web", ID: "abc\xff"}, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if _, err := ss.AddAudit(tctx(t), store.AuditEntry{Kind: store.AuditWebhookRefused, Reason: "nul\x00here"}); err != nil {
		t.Fatal(err)
	}
	pg := openPG(t, dsn)
	rep, err := storetools.Copy(tctx(t), src, pg, storetools.CopyOptions{})
	if err != nil {
		t.Fatalf("Copy: %v", err)
	}
	if rep.Changed != 2 || rep.Copied.Deliveries != 1 || rep.Copied.Audit != 1 {
		t.Errorf("changed %d, copied %s; want 2 values changed, 1 delivery, 1 audit entry", rep.Changed, rep.Copied)
	}
	if _, tables := export(t, pg); len(tables.Deliveries) != 1 || tables.Deliveries[0].ID != "abc\uFFFD" || tables.Audit[0].Reason != "nul\uFFFDhere" {
		t.Errorf("in PostgreSQL: %+v %+v", tables.Deliveries, tables.Audit)
	}
	rep, err = storetools.Copy(tctx(t), src, pg, storetools.CopyOptions{Merge: true})
	if err != nil || rep.Copied != (storetools.Contents{}) {
		t.Errorf("merging again: %v, copied %s; want nothing", err, rep.Copied)
	}
}

// Audit entries merged get new ids in their order (ListAudit is newest
// first by id).
func TestCopyMergeKeepsAuditOrder(t *testing.T) {
	src := openSQLite(t, filepath.Join(t.TempDir(), "src.db"))
	ss := store.ServerStoreOf(src)
	for i := range 6 {
		if _, err := ss.AddAudit(tctx(t), store.AuditEntry{Time: serverT0.Add(time.Duration(i) * time.Second), Kind: store.AuditWebhookRefused,
			Reason: fmt.Sprintf("refusal %d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	dst := openSQLite(t, filepath.Join(t.TempDir(), "dst.db"))
	if _, err := store.ServerStoreOf(dst).AddAudit(tctx(t), store.AuditEntry{Kind: store.AuditWebhookRefused, Reason: "own"}); err != nil {
		t.Fatal(err)
	}
	if _, err := storetools.Copy(tctx(t), src, dst, storetools.CopyOptions{Merge: true}); err != nil {
		t.Fatal(err)
	}
	_, tables := export(t, dst)
	var got []string
	for _, a := range tables.Audit {
		got = append(got, fmt.Sprintf("%d %s", a.ID, a.Reason))
	}
	if want := "1 own,2 refusal 0,3 refusal 1,4 refusal 2,5 refusal 3,6 refusal 4,7 refusal 5"; strings.Join(got, ",") != want {
		t.Errorf("audit after the merge: %s; want %s", strings.Join(got, ","), want)
	}
}

// A target that holds only server records is not empty: refused, saying
// what it holds.
func TestCopyRefusesTargetWithServerRecords(t *testing.T) {
	src := openSQLite(t, filepath.Join(t.TempDir(), "src.db"))
	serverHistory(t, src)
	dst := openSQLite(t, filepath.Join(t.TempDir(), "dst.db"))
	if _, err := store.ServerStoreOf(dst).AddAudit(tctx(t), store.AuditEntry{Kind: store.AuditWebhookRefused, Reason: "x"}); err != nil {
		t.Fatal(err)
	}
	_, err := storetools.Copy(tctx(t), src, dst, storetools.CopyOptions{})
	if !errors.Is(err, storetools.ErrRefused) || !strings.Contains(err.Error(), "0 locks, 1 audit entry") {
		t.Fatalf("copy into a store with an audit entry: %v", err)
	}
}

// --merge: a delivery in both keeps the later time, an audit entry the
// target has is not added again (so merging twice changes nothing), the
// others get new ids; a session in both that differs is refused, nothing
// written.
func TestCopyMergeServerTables(t *testing.T) {
	src := openSQLite(t, filepath.Join(t.TempDir(), "src.db"))
	serverHistory(t, src)
	dst := openSQLite(t, filepath.Join(t.TempDir(), "team.db"))
	ds := store.ServerStoreOf(dst)
	later := serverT0.Add(30 * time.Minute)
	if _, err := ds.RecordDelivery(tctx(t), store.Delivery{Plan: "web", ID: "gh-1002", Time: later}, time.Time{}); err != nil {
		t.Fatal(err)
	}
	for _, why := range []string{"own entry", "bad signature"} { // the second is also in the source
		if _, err := ds.AddAudit(tctx(t), store.AuditEntry{Time: serverT0.Add(time.Hour), Kind: store.AuditWebhookRefused,
			Plan: "web", Remote: "192.0.2.9:5000", Reason: why}); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := storetools.Copy(tctx(t), src, dst, storetools.CopyOptions{Merge: true})
	if err != nil {
		t.Fatalf("merge: %v", err)
	}
	if c := rep.Copied; c.Deliveries != 1 || c.Sessions != 1 || c.Audit != 1 || rep.Verified.Audit != 2 || rep.Verified.Deliveries != 2 {
		t.Errorf("merge copied %s, verified %s; want 1 delivery (the other is newer in the target), 1 session, 1 audit entry", c, rep.Verified)
	}
	_, tables := export(t, dst)
	if d := tables.Deliveries; len(d) != 2 || !d[1].Time.Equal(later) {
		t.Errorf("deliveries after the merge: %+v; want gh-1002 at the target's later time", d)
	}
	if a := tables.Audit; len(a) != 3 || a[2].Reason != "replayed delivery gh-1001" || a[2].ID != 3 {
		t.Errorf("audit after the merge: %+v; want the target's two, then the source's other with id 3", a)
	}
	before := dump(t, dst)
	rep, err = storetools.Copy(tctx(t), src, dst, storetools.CopyOptions{Merge: true})
	if err != nil || rep.Copied != (storetools.Contents{}) {
		t.Fatalf("merging again: %v, copied %s; want nothing", err, rep.Copied)
	}
	if after := dump(t, dst); after != before {
		t.Errorf("merging again changed the target at %s", firstDiff(before, after))
	}
	// A session with the same id of someone else: refused, nothing written.
	other := openSQLite(t, filepath.Join(t.TempDir(), "other.db"))
	if err := store.ServerStoreOf(other).CreateSession(tctx(t), store.Session{IDHash: strings.Repeat("ab", 32), Name: "mallory",
		Created: serverT0, Expires: serverT0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, err := store.ServerStoreOf(other).RecordDelivery(tctx(t), store.Delivery{Plan: "api", ID: "new"}, time.Time{}); err != nil {
		t.Fatal(err)
	}
	_, err = storetools.Copy(tctx(t), other, dst, storetools.CopyOptions{Merge: true})
	if !errors.Is(err, storetools.ErrRefused) || !strings.Contains(err.Error(), "of mallory in the source and of alice in the target") {
		t.Fatalf("merge of a differing session: %v", err)
	}
	if after := dump(t, dst); after != before {
		t.Errorf("the refused merge changed the target at %s", firstDiff(before, after))
	}
}

// Verification reads the server tables back too: an importer that loses
// an audit entry (a fault that cannot be produced for real) fails the
// copy, naming the entry.
func TestCopyVerifyCatchesLostAudit(t *testing.T) {
	src := openSQLite(t, filepath.Join(t.TempDir(), "src.db"))
	serverHistory(t, src)
	dst := &auditLossy{Dumper: openSQLite(t, filepath.Join(t.TempDir(), "lossy.db"))}
	_, err := storetools.Copy(tctx(t), src, dst, storetools.CopyOptions{})
	if !errors.Is(err, storetools.ErrMismatch) || !strings.Contains(err.Error(), "the audit entry 2 (webhook_refused of \"web\"") ||
		!strings.Contains(err.Error(), "is missing from the target") {
		t.Fatalf("copy through an importer that loses an audit entry: %v", err)
	}
}

type auditLossy struct{ store.Dumper }

func (l *auditLossy) Import(ctx context.Context, fill func(store.Importer) error) error {
	return l.Dumper.Import(ctx, func(im store.Importer) error { return fill(&auditLossyImporter{im}) })
}

type auditLossyImporter struct{ store.Importer }

func (l *auditLossyImporter) PutAudit(a store.AuditEntry, newID bool) error {
	if a.ID == 2 {
		return nil
	}
	return l.Importer.PutAudit(a, newID)
}

// export reads everything st keeps.
func export(t *testing.T, st store.Dumper) ([]store.RunRecord, store.Tables) {
	t.Helper()
	var runs []store.RunRecord
	tables, err := st.Export(tctx(t), func(rec store.RunRecord) error {
		runs = append(runs, rec)
		return nil
	})
	if err != nil {
		t.Fatalf("Export: %v", err)
	}
	return runs, tables
}
