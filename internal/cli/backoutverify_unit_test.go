package cli

import (
	"fmt"
	"slices"
	"testing"

	"github.com/golive-dev/golive/internal/store"
)

func TestBackoutVerdicts(t *testing.T) {
	ev := func(action store.Action, stage, host, msg string) store.Event {
		return store.Event{Kind: store.KindHost, Action: action, Stage: stage, Host: host, Message: msg}
	}
	got := backoutVerdicts([]store.Event{
		ev(store.ActionBackedOut, "web", "h1", ""),
		ev("backout_unhealthy", "web", "h1", "NOT healthy at 1.0: check \"serves\" on h1: exit 1"),
		ev("backout_verified", "web", "h2", "verified healthy at 1.0"),
		ev("backout_unverified", "db", "h2", "not verified: stage db has no health checks"),
		ev("backout_verified", "web", "h1", "verified healthy at 1.0"), // a later golive backout
		{Kind: store.KindRun, Action: "backout_unverified", Message: "backouts not verified: ..."},
	})
	want := map[string]string{
		"h1": "backed out, verified healthy at 1.0",
		"h2": "backed out, verified healthy at 1.0; not verified: stage db has no health checks",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("backoutVerdicts = %q, want %q", got, want)
	}

	// A check's detail comes from the target: no escape sequence or line
	// break reaches the terminal.
	hostile := backoutVerdicts([]store.Event{ev("backout_unhealthy", "web", "h3", "NOT healthy at 1.0: exit 1: \x1b[2J\x1b]0;owned\x07\nfake line")})
	if want := `backed out, NOT healthy at 1.0: exit 1: \x1b[2J\x1b]0;owned\x07 fake line`; hostile["h3"] != want {
		t.Errorf("hostile verdict = %q, want %q", hostile["h3"], want)
	}

	many := map[string]string{"h000": "backed out, NOT healthy at 1.0: check"}
	for i := 1; i <= 60; i++ {
		many[fmt.Sprintf("h%03d", i)] = "backed out, verified healthy at 1.0"
	}
	lines := verdictLines(many)
	if !slices.Equal(lines, []string{"h000: backed out, NOT healthy at 1.0: check", "60 hosts: backed out, verified healthy at 1.0"}) {
		t.Errorf("verdictLines of 61 hosts = %q", lines)
	}
}
