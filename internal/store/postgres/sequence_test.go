package postgres_test

import (
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/golive-dev/golive/internal/pgtest"
	"github.com/golive-dev/golive/internal/store"
)

// An import never moves an id sequence back: ids another server took
// from it (an insert not yet committed, which MAX(id) does not see) are
// not handed out again, for approvals and audit entries alike.
func TestImportNeverMovesASequenceBack(t *testing.T) {
	dsn := pgtest.DSN(t)
	s := open(t, dsn)
	conn, err := pgx.Connect(tctx(t), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(tctx(t))
	for _, table := range []string{"approvals", "audit"} {
		// Another server took ids 1 to 10 (its rows not visible here).
		if _, err := conn.Exec(tctx(t), `SELECT setval(pg_get_serial_sequence('`+table+`', 'id'), 10)`); err != nil {
			t.Fatal(err)
		}
	}
	rec := store.RunRecord{
		Run:       store.Run{ID: "r-1", Plan: "web", Release: "1", State: store.StatePending, CreatedAt: at(0), UpdatedAt: at(0)},
		LastSeq:   0,
		Lease:     store.Lease{RunID: "r-1"},
		Approvals: []store.Approval{{ID: 4, RunID: "r-1", Approver: "bob", Decision: store.DecisionApprove, Time: at(1)}},
	}
	err = s.Import(tctx(t), func(im store.Importer) error {
		if err := im.PutRun(rec, false); err != nil {
			return err
		}
		return im.PutAudit(store.AuditEntry{ID: 5, Time: at(2), Kind: store.AuditWebhookRefused}, false)
	})
	if err != nil {
		t.Fatal(err)
	}
	a, err := s.AddApproval(tctx(t), store.Approval{RunID: "r-1", Approver: "carol", Decision: store.DecisionApprove})
	if err != nil || a.ID != 11 {
		t.Errorf("approval after the import: id %d, %v; want 11 (after the ids taken)", a.ID, err)
	}
	e, err := s.AddAudit(tctx(t), store.AuditEntry{Kind: store.AuditWebhookRefused})
	if err != nil || e.ID != 11 {
		t.Errorf("audit entry after the import: id %d, %v; want 11", e.ID, err)
	}
}

func at(sec int64) time.Time { return time.Unix(1_790_000_000+sec, 0).UTC() }
