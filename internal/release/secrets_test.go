package release_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/golive-dev/golive/internal/redact"
	"github.com/golive-dev/golive/internal/release"
	"github.com/golive-dev/golive/internal/store"
	"github.com/golive-dev/golive/internal/store/sqlite"
)

const quotedSecret = "s3cr3t-Value-42"

// withSecret gives the fixture's service one secret, as --secrets-file
// or GOLIVE_SECRET_DB would.
func withSecret(f *fixture) {
	f.svc.Secrets = func() (map[string]string, *redact.Redactor, error) {
		r := redact.New()
		r.Add(quotedSecret)
		return map[string]string{"DB": quotedSecret}, r, nil
	}
}

// storedText is every free text the store keeps for run id: its reason,
// its events' messages and its approvals' comments.
func storedText(t *testing.T, f *fixture, id string) string {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(f.dir, ".golive", "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	r, err := st.GetRun(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString(r.Reason + "\n")
	evs, err := st.Events(ctx, id, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs {
		b.WriteString(ev.Message + "\n")
	}
	as, err := st.ListApprovals(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range as {
		b.WriteString(a.Comment + "\n")
	}
	return b.String()
}

// TestDecisionsAndAbortsHideSecrets: a comment or a reason that quotes a
// secret (pasted by mistake, or sent to the API) is kept with the secret
// hidden, in the approval, its journal event and the run's reason.
func TestDecisionsAndAbortsHideSecrets(t *testing.T) {
	f := newFixture(t, approvalsPlan)
	withSecret(f)
	ctx := ctxFor(t)
	res, err := f.svc.Start(ctx, release.StartOptions{Plan: f.in(), Release: "1.0", Ticket: "CHG-1", By: api("alice")})
	if err != nil || res.Run.State != store.StateWaiting {
		t.Fatalf("start: %v, %+v", err, res)
	}
	id := res.Run.ID
	if _, err := f.svc.Approve(ctx, release.DecideOptions{Run: f.ref(id), By: api("bob"), Comment: "ok, db password " + quotedSecret}); err != nil {
		t.Fatal(err)
	}
	ab, err := f.svc.Abort(ctx, release.AbortOptions{Run: f.ref(id), By: api("bob"), Reason: "rotate " + quotedSecret, Follow: true})
	if err != nil || !ab.Cancelled {
		t.Fatalf("abort: %v, %+v", err, ab)
	}
	text := storedText(t, f, id)
	if strings.Contains(text, quotedSecret) || strings.Count(text, "***") < 2 {
		t.Fatalf("the store keeps:\n%s\nwant the secret hidden in the comment and the reason", text)
	}
	if !strings.Contains(text, "ok, db password ***") || !strings.Contains(text, "rotate ***") {
		t.Fatalf("the store keeps:\n%s\nwant the rest of the texts", text)
	}

	// A forced abort's reason too.
	res, err = f.svc.Start(ctx, release.StartOptions{Plan: f.in(), Release: "1.1", Ticket: "CHG-2", By: api("alice")})
	if err != nil || res.Run.State != store.StateWaiting {
		t.Fatalf("start: %v, %+v", err, res)
	}
	if _, _, err := f.svc.ForceAbort(ctx, release.ForceAbortOptions{Run: f.ref(res.Run.ID), By: api("bob"), Reason: "stuck " + quotedSecret}); err != nil {
		t.Fatal(err)
	}
	if text := storedText(t, f, res.Run.ID); strings.Contains(text, quotedSecret) || !strings.Contains(text, "stuck ***") {
		t.Fatalf("the store keeps:\n%s\nwant the forced abort's reason hidden", text)
	}
}

// TestAbortDoesNotWaitForSecrets: secrets that cannot be loaded refuse a
// decision (its comment could not be checked) but never stand in the way
// of stopping a run: the abort goes through and says the reason is kept
// as given.
func TestAbortDoesNotWaitForSecrets(t *testing.T) {
	f := newFixture(t, approvalsPlan)
	ctx := ctxFor(t)
	res, err := f.svc.Start(ctx, release.StartOptions{Plan: f.in(), Release: "1.0", Ticket: "CHG-1", By: api("alice")})
	if err != nil || res.Run.State != store.StateWaiting {
		t.Fatalf("start: %v, %+v", err, res)
	}
	broken := errors.New("secrets file: line 3: no '='")
	f.svc.Secrets = func() (map[string]string, *redact.Redactor, error) { return nil, nil, broken }
	_, err = f.svc.Approve(ctx, release.DecideOptions{Run: f.ref(res.Run.ID), By: api("bob"), Comment: "fine"})
	if !errors.Is(err, broken) {
		t.Fatalf("approve with broken secrets: %v, want the secrets' error", err)
	}
	if as := storedText(t, f, res.Run.ID); strings.Contains(as, "fine") {
		t.Fatalf("a refused decision was recorded:\n%s", as)
	}
	var notes []string
	ab, err := f.svc.Abort(ctx, release.AbortOptions{Run: f.ref(res.Run.ID), By: api("bob"), Reason: "not today", Follow: true,
		Watch: release.Watch{Note: func(s string) { notes = append(notes, s) }}})
	if err != nil || !ab.Cancelled || ab.Run.State != store.StateAborted {
		t.Fatalf("abort with broken secrets: %v, %+v", err, ab)
	}
	if len(notes) != 1 || !strings.Contains(notes[0], "no '='") || !strings.Contains(notes[0], "recorded as given") {
		t.Fatalf("notes %q, want one saying the reason is recorded as given and why", notes)
	}
	// An abort that records nothing (the run is over) says nothing of it.
	notes = nil
	_, err = f.svc.Abort(ctx, release.AbortOptions{Run: f.ref(res.Run.ID), By: api("bob"), Reason: "again",
		Watch: release.Watch{Note: func(s string) { notes = append(notes, s) }}})
	wantKind(t, err, release.Conflict)
	if len(notes) != 0 {
		t.Errorf("an abort of an aborted run noted %q", notes)
	}
	// A forced abort goes through too, and says so.
	f.svc.Secrets = nil
	res, err = f.svc.Start(ctx, release.StartOptions{Plan: f.in(), Release: "1.1", Ticket: "CHG-2", By: api("alice")})
	if err != nil {
		t.Fatal(err)
	}
	f.svc.Secrets = func() (map[string]string, *redact.Redactor, error) { return nil, nil, broken }
	_, now, err := f.svc.ForceAbort(ctx, release.ForceAbortOptions{Run: f.ref(res.Run.ID), By: api("bob"), Reason: "stuck",
		Note: func(s string) { notes = append(notes, s) }})
	if err != nil || now.State != store.StateAborted || len(notes) != 1 || !strings.Contains(notes[0], "recorded as given") {
		t.Fatalf("forced abort with broken secrets: %v, %s, notes %q", err, now.State, notes)
	}
}
