package sqlite_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/golive-dev/golive/internal/store"
	"github.com/golive-dev/golive/internal/store/sqlite"
	"github.com/golive-dev/golive/internal/store/storetest"
)

func open(t testing.TB, path string) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return open(t, filepath.Join(t.TempDir(), "state.db"))
	})
}

func TestOpenCreatesParents(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a", ".golive", "state.db")
	s := open(t, path)
	if s.Path() != path {
		t.Errorf("Path = %q", s.Path())
	}
	if _, err := sqlite.Open(t.Context(), ""); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("Open(\"\") = %v, want ErrInvalid", err)
	}
}

func TestReopen(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "state.db")
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.CreateRun(ctx, store.Run{Plan: "p", Env: "prod", Release: "1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AppendEvent(ctx, store.Event{RunID: r.ID, Kind: "run", Action: "started", Output: "out"}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetLive(ctx, "p", "prod", "web-1", "1", r.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AcquireLock(ctx, store.Lock{Plan: "p", Env: "prod", RunID: r.ID, Holder: store.Holder{PID: 1, Hostname: "h"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = open(t, path)
	if got, err := s.GetRun(ctx, r.ID); err != nil || got.Release != "1" {
		t.Errorf("GetRun after reopen = %+v, %v", got, err)
	}
	if ev, err := s.Events(ctx, r.ID, 0); err != nil || len(ev) != 2 || ev[1].Output != "out" {
		t.Errorf("Events after reopen = %+v, %v", ev, err)
	}
	if rel, err := s.PreviousRelease(ctx, "p", "prod"); err != nil || rel != "1" {
		t.Errorf("PreviousRelease after reopen = %q, %v", rel, err)
	}
	if l, err := s.GetLock(ctx, "p", "prod"); err != nil || l.RunID != r.ID {
		t.Errorf("GetLock after reopen = %+v, %v", l, err)
	}
}

func TestPragmas(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	open(t, path)
	db := rawDB(t, path)
	for _, tt := range []struct{ pragma, want string }{
		{"journal_mode", "wal"},
	} {
		var got string
		if err := db.QueryRow("PRAGMA " + tt.pragma).Scan(&got); err != nil || got != tt.want {
			t.Errorf("PRAGMA %s = %q, %v, want %q", tt.pragma, got, err, tt.want)
		}
	}
	var versions []int
	rows, err := db.Query("SELECT version FROM schema_migrations ORDER BY version")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		versions = append(versions, v)
	}
	if len(versions) != sqlite.SchemaVersion() || versions[len(versions)-1] != sqlite.SchemaVersion() {
		t.Errorf("schema_migrations = %v, want 1..%d", versions, sqlite.SchemaVersion())
	}
}

func TestConnectionPragmas(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "state.db"))
	got := s.Pragmas(t.Context())
	want := map[string]int64{"foreign_keys": 1, "synchronous": 2, "busy_timeout": sqlite.DefaultBusyTimeout.Milliseconds()}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("PRAGMA %s = %d, want %d", k, got[k], v)
		}
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	open(t, path)
	db := rawDB(t, path)
	if _, err := db.Exec(`INSERT INTO schema_migrations (version, name, applied_us) VALUES (999, 'future', 0)`); err != nil {
		t.Fatal(err)
	}
	_, err := sqlite.Open(t.Context(), path)
	if err == nil {
		t.Fatal("Open of a database from a newer golive succeeded")
	}
	t.Logf("Open: %v", err)
}

func TestEventsAppendOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	s := open(t, path)
	r, err := s.CreateRun(t.Context(), store.Run{Plan: "p", Release: "1"})
	if err != nil {
		t.Fatal(err)
	}
	db := rawDB(t, path)
	for _, q := range []string{`UPDATE events SET message = 'x'`, `DELETE FROM events`} {
		if _, err := db.Exec(q); err == nil {
			t.Errorf("%s: succeeded on the append-only journal", q)
		}
	}
	if ev, err := s.Events(t.Context(), r.ID, 0); err != nil || len(ev) != 1 {
		t.Errorf("Events = %v, %v", ev, err)
	}
}

func TestWithNow(t *testing.T) {
	fixed := time.Date(2026, 11, 26, 2, 15, 30, 999, time.FixedZone("x", 3600))
	s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "state.db"),
		sqlite.WithNow(func() time.Time { return fixed }), sqlite.WithBusyTimeout(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	r, err := s.CreateRun(t.Context(), store.Run{Plan: "p", Release: "1"})
	if err != nil {
		t.Fatal(err)
	}
	want := fixed.UTC().Truncate(time.Microsecond)
	if r.CreatedAt != want || r.ID[:17] != "r-20261126-011530" {
		t.Errorf("run = %s created %v, want %v", r.ID, r.CreatedAt, want)
	}
}

// TestMigrateV1 opens a database written by a golive of schema 1: its runs,
// approvals and events stay readable, with no identity provenance and not
// bound to artifacts.
func TestMigrateV1(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	db := rawDB(t, path)
	for _, q := range []string{
		`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_us INTEGER NOT NULL) STRICT`,
		sqlite.SchemaV1,
		`INSERT INTO schema_migrations VALUES (1, 'v1', 0)`,
		`INSERT INTO runs (id, plan, release, requester, plan_hash, state, created_us, updated_us, last_seq) VALUES ('r-old', 'p', '1', 'alice', 'h', 'waiting', 1, 1, 1)`,
		`INSERT INTO events (run_id, seq, time_us, kind, action, actor) VALUES ('r-old', 1, 1, 'state', 'waiting', 'alice')`,
		`INSERT INTO approvals (run_id, approver, decision, plan_hash, time_us) VALUES ('r-old', 'bob', 'approve', 'h', 2)`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	s := open(t, path)
	ctx := t.Context()
	r, err := s.GetRun(ctx, "r-old")
	if err != nil || r.Requester != "alice" || r.RequesterVia != "" || r.RequesterOSUser != "" || r.Artifacts.Bound() {
		t.Errorf("GetRun = %+v, %v", r, err)
	}
	as, err := s.ListApprovals(ctx, "r-old")
	if err != nil || len(as) != 1 || as[0].Approver != "bob" || as[0].Via != "" || as[0].Artifacts.Bound() {
		t.Errorf("ListApprovals = %+v, %v", as, err)
	}
	evs, err := s.Events(ctx, "r-old", 0)
	if err != nil || len(evs) != 1 || evs[0].Actor != "alice" || evs[0].ActorOSUser != "" {
		t.Errorf("Events = %+v, %v", evs, err)
	}
}
