package store_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/golive-dev/golive/internal/store"
	"github.com/golive-dev/golive/internal/store/sqlite"
)

// Whatever path writes to a Redacted store, the database file never holds
// the secret: reasons, messages, output (also past the kept tail), actors
// and approval comments.
func TestRedactedStore(t *testing.T) {
	ctx := context.Background()
	const secret = "S3CR3T-in-the-journal"
	path := filepath.Join(t.TempDir(), "state.db")
	raw, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	st := store.Redacted(raw, func(s string) string { return strings.ReplaceAll(s, secret, "***") })
	r, err := st.CreateRun(ctx, store.Run{Plan: "p", Release: "1", Requester: "me", Reason: "created with " + secret})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.UpdateRunState(ctx, r.ID, []store.State{r.State}, store.StateRunning, "because "+secret); err != nil {
		t.Fatal(err)
	}
	long := secret + strings.Repeat("x", store.MaxOutput-len(secret)+5) // the tail cuts into the secret
	if _, err := st.AppendEvent(ctx, store.Event{RunID: r.ID, Kind: store.KindStep, Action: store.ActionFinished,
		Message: "msg " + secret, Output: long, Actor: secret}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.AddApproval(ctx, store.Approval{RunID: r.ID, Approver: "ann", Decision: store.DecisionApprove, Comment: "ok " + secret}); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{path, path + "-wal"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		if bytes.Contains(b, []byte("S3CR3T")) || bytes.Contains(b, []byte("in-the-journal")) {
			t.Errorf("%s holds (part of) the secret", f)
		}
	}
}
