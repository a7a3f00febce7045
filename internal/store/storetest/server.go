package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/golive-dev/golive/internal/store"
)

// RunServer runs the conformance tests of store.ServerStore (what `golive
// serve` keeps beside the runs) against the stores open returns.
func RunServer(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.ServerStore)
	}{
		{"Deliveries", testDeliveries},
		{"Sessions", testSessions},
		{"Audit", testAudit},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			st := open(t)
			ss := store.ServerStoreOf(st)
			if ss == nil {
				t.Fatalf("%T is not a store.ServerStore", st)
			}
			tt.fn(t, ss)
		})
	}
}

// testDeliveries: a delivery id is new once per plan; seen again within
// the retention it is a replay; past it (or forgotten) it is new again.
func testDeliveries(t *testing.T, s store.ServerStore) {
	now := time.Now().UTC().Truncate(time.Microsecond)
	week := 7 * 24 * time.Hour
	record := func(plan, id string, at time.Time) bool {
		t.Helper()
		fresh, err := s.RecordDelivery(ctx(t), store.Delivery{Plan: plan, ID: id, Time: at}, at.Add(-week))
		if err != nil {
			t.Fatalf("RecordDelivery(%s, %s): %v", plan, id, err)
		}
		return fresh
	}
	if !record("shop", "d1", now) {
		t.Fatal("a first delivery was refused")
	}
	if record("shop", "d1", now.Add(time.Hour)) {
		t.Error("a delivery seen an hour before was new again")
	}
	if !record("other", "d1", now.Add(time.Hour)) {
		t.Error("the same id for another plan's hook was a replay")
	}
	if !record("shop", "d1", now.Add(week+time.Second)) {
		t.Error("a delivery seen past the retention was a replay")
	}
	if record("shop", "d1", now.Add(week+2*time.Second)) {
		t.Error("the renewed record was not kept")
	}
	if !record("shop", "d2", now) {
		t.Fatal("d2 refused")
	}
	n, err := s.ForgetDeliveries(ctx(t), now.Add(time.Minute))
	if err != nil || n != 1 { // d2 (d1 of shop was renewed, d1 of other is an hour later)
		t.Fatalf("ForgetDeliveries = %d, %v; want 1", n, err)
	}
	if !record("shop", "d2", now.Add(2*time.Minute)) {
		t.Error("a forgotten delivery was a replay")
	}
	if err := s.ForgetDelivery(ctx(t), "shop", "d2"); err != nil {
		t.Fatal(err)
	}
	if err := s.ForgetDelivery(ctx(t), "shop", "d2"); err != nil {
		t.Errorf("forgetting a delivery twice: %v", err)
	}
	if !record("shop", "d2", now.Add(3*time.Minute)) {
		t.Error("a delivery forgotten by id was a replay")
	}
	if record("other", "d1", now.Add(3*time.Minute)) {
		t.Error("ForgetDelivery of shop's d2 forgot other's d1")
	}
	if _, err := s.RecordDelivery(ctx(t), store.Delivery{Plan: "shop"}, now); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("RecordDelivery without an id: %v, want ErrInvalid", err)
	}
}

// testSessions: kept by the hash of their id until they expire or are
// deleted.
func testSessions(t *testing.T, s store.ServerStore) {
	now := time.Now().UTC().Truncate(time.Microsecond)
	a := store.Session{IDHash: "h-a", Name: "alice", TokenSHA256: "9f86", Created: now, Expires: now.Add(time.Hour)}
	if err := s.CreateSession(ctx(t), a); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateSession(ctx(t), a); !errors.Is(err, store.ErrExists) {
		t.Errorf("a second session with one hash: %v, want ErrExists", err)
	}
	got, err := s.GetSession(ctx(t), "h-a", now)
	if err != nil || got != a {
		t.Fatalf("GetSession = %+v, %v; want %+v", got, err, a)
	}
	if _, err := s.GetSession(ctx(t), "h-a", now.Add(time.Hour)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("an expired session: %v, want ErrNotFound", err)
	}
	if _, err := s.GetSession(ctx(t), "h-x", now); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("an unknown session: %v, want ErrNotFound", err)
	}
	b := store.Session{IDHash: "h-b", Name: "bob", Expires: now.Add(time.Minute)}
	if err := s.CreateSession(ctx(t), b); err != nil {
		t.Fatal(err)
	}
	if n, err := s.ForgetSessions(ctx(t), now.Add(2*time.Minute)); err != nil || n != 1 {
		t.Errorf("ForgetSessions = %d, %v; want 1 (bob's)", n, err)
	}
	if err := s.DeleteSession(ctx(t), "h-a"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetSession(ctx(t), "h-a", now); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a deleted session: %v, want ErrNotFound", err)
	}
	if err := s.DeleteSession(ctx(t), "h-a"); err != nil {
		t.Errorf("deleting a session twice: %v", err)
	}
	if err := s.CreateSession(ctx(t), store.Session{IDHash: "h-c"}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("a session without name: %v, want ErrInvalid", err)
	}
}

// testAudit: entries newest first, by plan, limited; text kept as given.
func testAudit(t *testing.T, s store.ServerStore) {
	add := func(plan, reason string) store.AuditEntry {
		t.Helper()
		a, err := s.AddAudit(ctx(t), store.AuditEntry{Kind: store.AuditWebhookRefused, Plan: plan,
			Remote: "192.0.2.1:4242", Reason: reason})
		if err != nil {
			t.Fatal(err)
		}
		if a.ID == 0 || a.Time.IsZero() {
			t.Fatalf("AddAudit = %+v: want an id and a time", a)
		}
		recent(t, "audit time", a.Time)
		return a
	}
	first := add("shop", "bad signature")
	add("other", "missing signature")
	third := add("shop", "odd \x1b[31m text é")
	all, err := s.ListAudit(ctx(t), store.AuditFilter{})
	if err != nil || len(all) != 3 || all[0].ID != third.ID || all[2].ID != first.ID {
		t.Fatalf("ListAudit = %+v, %v; want 3 newest first", all, err)
	}
	if all[0] != third {
		t.Errorf("read back %+v, want %+v", all[0], third)
	}
	shop, err := s.ListAudit(ctx(t), store.AuditFilter{Plans: []string{"shop"}, Limit: 1})
	if err != nil || len(shop) != 1 || shop[0].ID != third.ID {
		t.Errorf("ListAudit(shop, 1) = %+v, %v", shop, err)
	}
	none, err := s.ListAudit(ctx(t), store.AuditFilter{Plans: []string{"nope"}})
	if err != nil || len(none) != 0 || none == nil {
		t.Errorf("ListAudit(nope) = %#v, %v; want an empty list", none, err)
	}
	if _, err := s.AddAudit(ctx(t), store.AuditEntry{Plan: "shop"}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("AddAudit without kind: %v, want ErrInvalid", err)
	}
	old, err := s.AddAudit(ctx(t), store.AuditEntry{Kind: store.AuditWebhookRefused, Time: time.Now().Add(-100 * 24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := s.ForgetAudit(ctx(t), time.Now().Add(-90*24*time.Hour)); err != nil || n != 1 {
		t.Errorf("ForgetAudit = %d, %v; want 1 (the entry 100 days old)", n, err)
	}
	left, _ := s.ListAudit(ctx(t), store.AuditFilter{})
	if len(left) != 3 || left[0].ID == old.ID {
		t.Errorf("after ForgetAudit: %+v", left)
	}
}
