package engine_test

import (
	"context"
	"strings"
	"testing"

	"github.com/golive-dev/golive/internal/engine"
	"github.com/golive-dev/golive/internal/store"
)

// The engine is the last line: a run whose release, previous release or
// ticket breaks the rules of run-time values is never recorded, whoever
// built the request (the CLI and the server check first).
func TestCreateRefusesBadValues(t *testing.T) {
	f := newFixture(t, 1, `stages:
  - name: web
    on: web
    steps:
      - name: s
        run: "true"
        backout: "true"
`)
	e := f.engine()
	ctx := context.Background()
	for _, c := range []struct {
		name             string
		release, prev, t string
		want             string
	}{
		{"release", `2.0"; touch /tmp/x; echo "`, "1.0", "", `release "2.0\"; touch /tmp/x; echo \"": character '"' at position 4`},
		{"previous", "2.0", "1.0$(id)", "", `previous release "1.0$(id)": character '$' at position 4`},
		{"ticket", "2.0", "1.0", "CHG-1\n# forged", `ticket "CHG-1\n# forged": character \n at position 6`},
	} {
		ro := *f.ro
		ro.Release, ro.Previous = c.release, c.prev
		_, err := e.Create(ctx, engine.Request{Rollout: &ro, Requester: "tester", Ticket: c.t}, store.StatePending, "test")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Create = %v, want an error with %q", c.name, err, c.want)
		}
	}
	runs, err := f.st.ListRuns(ctx, store.RunFilter{})
	if err != nil || len(runs) != 0 {
		t.Errorf("runs recorded: %d (%v)", len(runs), err)
	}
}
