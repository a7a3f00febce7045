package engine_test

import (
	"strings"
	"testing"

	"github.com/golive-dev/golive/internal/engine"
	"github.com/golive-dev/golive/internal/redact"
	"github.com/golive-dev/golive/internal/store"
)

// TestSecretSplitAcrossStdoutAndStderr: a step's stdout and stderr are one
// stream, redacted as one: a secret whose first half goes to stdout and
// the rest to stderr is hidden whole, and the output keeps its order.
func TestSecretSplitAcrossStdoutAndStderr(t *testing.T) {
	t.Parallel()
	const secret = "s3cr3t-V4lue"
	f := newFixtureSecrets(t, 1, `stages:
  - name: web
    on: web
    steps:
      - name: split
        env: {TOKEN: "${{ secrets.token }}"}
        run: 'echo before; printf "%s" "${TOKEN%%-*}"; printf "%s\n" "-${TOKEN#*-}" >&2; echo after; exit 1'
`, map[string]string{"token": secret})
	out := f.start(f.engine(func(o *engine.Options) { o.Redactor = redact.New(secret) }))
	f.wantState(out, store.StateBackedOut)
	failed := filter(f.events(out.Run.ID), match{kind: store.KindStep, action: store.ActionFailed, step: "split"})
	if len(failed) != 1 {
		t.Fatalf("%d failed split events", len(failed))
	}
	if got := strings.TrimSpace(failed[0].Output); got != "before\n***\nafter" {
		t.Errorf("output %q, want \"before\\n***\\nafter\"", got)
	}
}
