package storetest

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golive-dev/golive/internal/store"
)

// DumpOpener returns a new, empty store that can be exported and
// imported (store.Dumper), closed and removed with t.Cleanup.
type DumpOpener func(t *testing.T) store.Dumper

// RunDump runs the conformance suite of store.Dumper (Export and Import,
// what `golive store copy` and `store check` are built on).
func RunDump(t *testing.T, open DumpOpener) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Dumper)
	}{
		{"ImportExportVerbatim", testImportExportVerbatim},
		{"ImportAtomic", testImportAtomic},
		{"ImportThenWrite", testImportThenWrite},
		{"ImportNewApprovalIDs", testImportNewApprovalIDs},
		{"ExportOrder", testExportOrder},
		{"ImportServerTables", testImportServerTables},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.fn(t, open(t))
		})
	}
}

// at is a time to the microsecond, in another zone than UTC (stores
// return UTC).
func at(sec int64) time.Time {
	return time.Unix(1_790_000_000+sec, 123_456_000).In(time.FixedZone("X", 3600))
}

// fullRecord is a run with every field set (and the optional ones both
// set and unset), hostile text included.
func fullRecord(id string) store.RunRecord {
	return store.RunRecord{
		Run: store.Run{ID: id, Plan: "web", Env: "prod", Release: "1.4.2", PreviousRelease: "1.4.1",
			Requester: "alice", RequesterVia: store.ViaAPI, RequesterOSUser: "svc", RequesterToken: "ci",
			Ticket: "CHG-7", PlanHash: "ab12", Artifacts: store.NewArtifactSums(map[string]string{"app": "ff"}),
			State: store.StateFailed, Reason: "it broke: \x1b[2J 'quoted' \"dq\" ; rm -rf /",
			CreatedAt: at(0), UpdatedAt: at(9), StartedAt: at(1), FinishedAt: at(9)},
		LastSeq: 3,
		Lease:   store.Lease{RunID: id, Holder: "pid 42 on ctl-1", Epoch: 3, Expires: at(60)},
		Events: []store.Event{
			{RunID: id, Seq: 1, Time: at(0), Kind: store.KindState, Action: "pending", Message: "created",
				Actor: "alice", ActorVia: store.ViaAPI, ActorOSUser: "svc", ActorToken: "ci"},
			{RunID: id, Seq: 2, Time: at(2), Kind: store.KindStep, Action: "finished", Stage: "web", Batch: 2,
				Host: "h1", Step: "switch", ExitCode: store.ExitCode(0), Duration: 1500 * time.Millisecond,
				Output: "line 1\nline 2 é ✓\n"},
			{RunID: id, Seq: 3, Time: at(9), Kind: store.KindState, Action: "failed", ExitCode: store.ExitCode(-1),
				Message: strings.Repeat("m", 3000)},
		},
		Approvals: []store.Approval{
			{ID: 7, RunID: id, Gate: "stage:web", Approver: "bob", Via: store.ViaCLI, OSUser: "bob",
				Decision: store.DecisionApprove, Comment: "ok; DROP TABLE runs", PlanHash: "ab12", Release: "1.4.2",
				Env: "prod", Artifacts: store.NewArtifactSums(nil), Time: at(1)},
			{ID: 11, RunID: id, Approver: "carol", Via: store.ViaAPI, Token: "tok", Decision: store.DecisionReject,
				Time: at(2)}, // not bound to artifacts (""): an older record
		},
	}
}

// bareRecord is a run with nothing optional: never leased, no times but
// its creation, no approvals.
func bareRecord(id string) store.RunRecord {
	return store.RunRecord{
		Run: store.Run{ID: id, Plan: "web", Release: "1", State: store.StatePending,
			CreatedAt: at(20), UpdatedAt: at(20)},
		LastSeq:   1,
		Lease:     store.Lease{RunID: id},
		Events:    []store.Event{{RunID: id, Seq: 1, Time: at(20), Kind: store.KindState, Action: "pending"}},
		Approvals: []store.Approval{},
	}
}

// exportAll returns what s exports, as JSON with times normalised.
func exportAll(t *testing.T, s store.Dumper) ([]store.RunRecord, store.Tables) {
	t.Helper()
	var runs []store.RunRecord
	tables, err := s.Export(ctx(t), func(rec store.RunRecord) error {
		runs = append(runs, rec)
		return nil
	})
	if err != nil {
		t.Fatalf("Export: %v", err)
	}
	return runs, tables
}

// canon is v as JSON with every time in UTC (stores return UTC; records
// built here are in another zone).
func canon(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var x any
	if err := json.Unmarshal(b, &x); err != nil {
		t.Fatal(err)
	}
	var walk func(v any) any
	walk = func(v any) any {
		switch v := v.(type) {
		case map[string]any:
			for k, e := range v {
				v[k] = walk(e)
			}
		case []any:
			for i, e := range v {
				v[i] = walk(e)
			}
		case string:
			if tm, err := time.Parse(time.RFC3339Nano, v); err == nil && strings.Contains(v, "T") {
				return tm.UTC().Format(time.RFC3339Nano)
			}
		}
		return v
	}
	b, _ = json.MarshalIndent(walk(x), "", " ")
	return string(b)
}

func testImportExportVerbatim(t *testing.T, s store.Dumper) {
	full, bare := fullRecord("r-full"), bareRecord("r-bare")
	live := []store.LiveRelease{
		{Plan: "web", Env: "prod", Host: "h1", Release: "1.4.1", RunID: "r-full", Since: at(5)},
		{Plan: "web", Env: "prod", Host: "h2", Release: "1.4.2", RunID: "r-full", Since: at(6)},
	}
	lock := store.Lock{Plan: "web", Env: "prod", RunID: "r-full", Requester: "alice",
		Holder:     store.Holder{PID: 42, Hostname: "ctl-1", PIDSpace: "boot:x pid:[1]"},
		AcquiredAt: at(1), HeartbeatAt: at(8)}
	server := serverTables()
	err := s.Import(ctx(t), func(im store.Importer) error {
		if err := putServer(im, server); err != nil {
			return err
		}
		for _, rec := range []store.RunRecord{full, bare} {
			if err := im.PutRun(rec, false); err != nil {
				return err
			}
		}
		for _, l := range live {
			if err := im.PutLive(l); err != nil {
				return err
			}
		}
		return im.PutLock(lock)
	})
	if err != nil {
		t.Fatalf("Import: %v", err)
	}
	runs, tables := exportAll(t, s)
	want := canon(t, []store.RunRecord{full, bare})
	if got := canon(t, runs); got != want {
		t.Errorf("exported runs:\n%s\nwant:\n%s", got, want)
	}
	server.Live, server.Locks, server.Orphans = live, []store.Lock{lock}, []store.Orphan{}
	if got, want := canon(t, tables), canon(t, server); got != want {
		t.Errorf("exported tables:\n%s\nwant:\n%s", got, want)
	}
	// The ordinary reads see the imported records too.
	r, err := s.GetRun(ctx(t), "r-full")
	wantErr(t, "GetRun", err, nil)
	if norm(r) != norm(full.Run) {
		t.Errorf("GetRun = %+v, want %+v", r, full.Run)
	}
	l, err := s.GetLease(ctx(t), "r-full")
	wantErr(t, "GetLease", err, nil)
	if l.Epoch != 3 || l.Holder != full.Lease.Holder || !l.Expires.Equal(full.Lease.Expires) {
		t.Errorf("GetLease = %+v, want %+v", l, full.Lease)
	}
	if prev, err := s.PreviousRelease(ctx(t), "web", "prod"); err != nil || prev != "1.4.2" {
		t.Errorf("PreviousRelease = %q, %v; want 1.4.2 (tie: the newer)", prev, err)
	}
	if _, err := s.AcquireLock(ctx(t), store.Lock{Plan: "web", Env: "prod", RunID: "r-bare", Holder: store.ThisHolder()}); !errors.Is(err, store.ErrLocked) {
		t.Errorf("AcquireLock of the imported lock: %v, want locked", err)
	}
}

// A failed import stores nothing; a run or lock that exists is ErrExists.
func testImportAtomic(t *testing.T, s store.Dumper) {
	err := s.Import(ctx(t), func(im store.Importer) error {
		if err := im.PutRun(fullRecord("r-1"), false); err != nil {
			return err
		}
		return errors.New("stop")
	})
	if err == nil || err.Error() != "stop" {
		t.Fatalf("Import whose fill failed: %v", err)
	}
	if runs, tables := exportAll(t, s); len(runs) != 0 || len(tables.Live) != 0 {
		t.Fatalf("a failed import left %d runs", len(runs))
	}
	wantErr(t, "Import", s.Import(ctx(t), func(im store.Importer) error { return im.PutRun(bareRecord("r-2"), false) }), nil)
	err = s.Import(ctx(t), func(im store.Importer) error {
		if err := im.PutRun(bareRecord("r-3"), false); err != nil {
			return err
		}
		return im.PutRun(bareRecord("r-2"), false)
	})
	wantErr(t, "Import of a run that exists", err, store.ErrExists)
	lock := store.Lock{Plan: "p", RunID: "r-2", Holder: store.Holder{PID: 1, Hostname: "h"}, AcquiredAt: at(1), HeartbeatAt: at(1)}
	wantErr(t, "PutLock", s.Import(ctx(t), func(im store.Importer) error { return im.PutLock(lock) }), nil)
	wantErr(t, "PutLock of a held lock", s.Import(ctx(t), func(im store.Importer) error { return im.PutLock(lock) }), store.ErrExists)
	if runs, _ := exportAll(t, s); len(runs) != 1 || runs[0].Run.ID != "r-2" {
		t.Errorf("runs after the failed imports: %d", len(runs))
	}
}

// Writes after an import go on from it: the next seq, the next approval
// id, fencing with the imported lease's epoch.
func testImportThenWrite(t *testing.T, s store.Dumper) {
	full := fullRecord("r-full")
	wantErr(t, "Import", s.Import(ctx(t), func(im store.Importer) error { return im.PutRun(full, false) }), nil)
	seq, err := s.AppendEvent(ctx(t), store.Event{RunID: "r-full", Kind: store.KindRun, Action: "noted"})
	if err != nil || seq != 4 {
		t.Errorf("AppendEvent after the import: seq %d, %v; want 4", seq, err)
	}
	a, err := s.AddApproval(ctx(t), store.Approval{RunID: "r-full", Approver: "dan", Decision: store.DecisionApprove})
	if err != nil || a.ID <= 11 {
		t.Errorf("AddApproval after the import: id %d, %v; want > 11", a.ID, err)
	}
	stale := store.WithLease(ctx(t), store.Lease{RunID: "r-full", Holder: "old", Epoch: 2})
	_, err = s.AppendEvent(stale, store.Event{RunID: "r-full", Kind: store.KindRun, Action: "stale"})
	wantErr(t, "AppendEvent with an older epoch than the imported lease's", err, store.ErrFenced)
	current := store.WithLease(ctx(t), store.Lease{RunID: "r-full", Holder: full.Lease.Holder, Epoch: 3})
	if _, err := s.AppendEvent(current, store.Event{RunID: "r-full", Kind: store.KindRun, Action: "current"}); err != nil {
		t.Errorf("AppendEvent with the imported lease's epoch: %v", err)
	}
}

// With newApprovalIDs, imported approvals get ids after the store's, in
// their order.
func testImportNewApprovalIDs(t *testing.T, s store.Dumper) {
	r := newRun(t, s, "other", "", "9")
	old, err := s.AddApproval(ctx(t), store.Approval{RunID: r.ID, Approver: "zed", Decision: store.DecisionApprove})
	wantErr(t, "AddApproval", err, nil)
	full := fullRecord("r-full")
	full.Approvals[0].ID, full.Approvals[1].ID = old.ID, old.ID+1 // would collide
	wantErr(t, "Import", s.Import(ctx(t), func(im store.Importer) error { return im.PutRun(full, true) }), nil)
	list, err := s.ListApprovals(ctx(t), "r-full")
	wantErr(t, "ListApprovals", err, nil)
	if len(list) != 2 || list[0].ID <= old.ID || list[1].ID <= list[0].ID || list[0].Approver != "bob" || list[1].Approver != "carol" {
		t.Errorf("merged approvals: %+v; want bob then carol, with ids after %d", list, old.ID)
	}
}

// Export gives runs oldest first and reports records of unknown runs.
func testExportOrder(t *testing.T, s store.Dumper) {
	a, b := bareRecord("r-b"), bareRecord("r-a")
	a.Run.CreatedAt, b.Run.CreatedAt = at(1), at(2) // r-b is older though its id sorts later
	wantErr(t, "Import", s.Import(ctx(t), func(im store.Importer) error {
		if err := im.PutRun(b, false); err != nil {
			return err
		}
		return im.PutRun(a, false)
	}), nil)
	runs, tables := exportAll(t, s)
	if len(runs) != 2 || runs[0].Run.ID != "r-b" || runs[1].Run.ID != "r-a" {
		t.Errorf("export order: %v", runs)
	}
	if len(tables.Orphans) != 0 {
		t.Errorf("orphans in a sound store: %v", tables.Orphans)
	}
	stop := errors.New("enough")
	if _, err := s.Export(ctx(t), func(store.RunRecord) error { return stop }); !errors.Is(err, stop) {
		t.Errorf("Export whose fn failed: %v", err)
	}
}

// serverTables is one of each record `golive serve` keeps, in export
// order, hostile text included.
func serverTables() store.Tables {
	return store.Tables{
		Deliveries: []store.Delivery{
			{Plan: "api", ID: "z-1", Time: at(3)},
			{Plan: "web", ID: "gh-7f3a'; DROP TABLE hook_deliveries; --", Time: at(4)},
		},
		Sessions: []store.Session{
			{IDHash: strings.Repeat("0a", 32), Name: "alice", TokenSHA256: strings.Repeat("c4", 32), Created: at(1), Expires: at(3600)},
			{IDHash: strings.Repeat("f1", 32), Name: "bob", Created: at(2), Expires: at(7200)},
		},
		Audit: []store.AuditEntry{
			{ID: 3, Time: at(5), Kind: store.AuditWebhookRefused, Plan: "web", Remote: "192.0.2.7:4711", Reason: "bad signature \x1b[2J"},
			{ID: 9, Time: at(6), Kind: store.AuditWebhookRefused, Remote: "[2001:db8::1]:80", Identity: "ci", Reason: "replayed"},
		},
	}
}

func putServer(im store.Importer, t store.Tables) error {
	for _, d := range t.Deliveries {
		if err := im.PutDelivery(d); err != nil {
			return err
		}
	}
	for _, x := range t.Sessions {
		if err := im.PutSession(x); err != nil {
			return err
		}
	}
	for _, a := range t.Audit {
		if err := im.PutAudit(a, false); err != nil {
			return err
		}
	}
	return nil
}

// What `golive serve` keeps imports verbatim and works on afterwards: an
// imported delivery is a replay, an imported session signs in, audit
// entries added later get ids after the imported ones; a delivery put
// again keeps the later time; a session or audit id that exists is
// ErrExists; with newID an entry gets an id after the store's.
func testImportServerTables(t *testing.T, s store.Dumper) {
	ss, ok := s.(store.ServerStore)
	if !ok {
		t.Skip("not a store.ServerStore")
	}
	server := serverTables()
	wantErr(t, "Import", s.Import(ctx(t), func(im store.Importer) error { return putServer(im, server) }), nil)
	fresh, err := ss.RecordDelivery(ctx(t), store.Delivery{Plan: "api", ID: "z-1", Time: at(10)}, at(0))
	if err != nil || fresh {
		t.Errorf("RecordDelivery of an imported delivery: fresh %v, %v; want a replay", fresh, err)
	}
	sess, err := ss.GetSession(ctx(t), strings.Repeat("0a", 32), at(100))
	if err != nil || sess.Name != "alice" || sess.TokenSHA256 != strings.Repeat("c4", 32) || !sess.Expires.Equal(at(3600)) {
		t.Errorf("GetSession of an imported session: %+v, %v", sess, err)
	}
	a, err := ss.AddAudit(ctx(t), store.AuditEntry{Kind: store.AuditWebhookRefused, Reason: "after"})
	if err != nil || a.ID <= 9 {
		t.Errorf("AddAudit after the import: id %d, %v; want > 9", a.ID, err)
	}
	wantErr(t, "Import", s.Import(ctx(t), func(im store.Importer) error {
		if err := im.PutDelivery(store.Delivery{Plan: "api", ID: "z-1", Time: at(2)}); err != nil { // older: kept as it was
			return err
		}
		if err := im.PutDelivery(store.Delivery{Plan: "web", ID: server.Deliveries[1].ID, Time: at(50)}); err != nil { // newer
			return err
		}
		return im.PutAudit(store.AuditEntry{ID: 3, Time: at(7), Kind: "x", Reason: "merged"}, true)
	}), nil)
	wantErr(t, "PutSession of a session that exists", s.Import(ctx(t), func(im store.Importer) error {
		return im.PutSession(server.Sessions[1])
	}), store.ErrExists)
	wantErr(t, "PutAudit of an id that exists", s.Import(ctx(t), func(im store.Importer) error {
		return im.PutAudit(server.Audit[0], false)
	}), store.ErrExists)
	_, tables := exportAll(t, s)
	if d := tables.Deliveries; len(d) != 2 || !d[0].Time.Equal(at(3)) || !d[1].Time.Equal(at(50)) {
		t.Errorf("deliveries after putting them again: %+v; want z-1 at its first time (a replay records nothing), the other at the newer", d)
	}
	if au := tables.Audit; len(au) != 4 || au[3].Reason != "merged" || au[3].ID <= a.ID {
		t.Errorf("audit after a new-id import: %+v; want the merged entry last, with an id after %d", au, a.ID)
	}
}
