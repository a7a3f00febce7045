package engine

import (
	"testing"

	"github.com/golive-dev/golive/internal/store"
)

// TestReplayRemoteGroups: after a crash, the journal says which remote
// process groups may still run: those started whose script reported no
// exit status. One that exited (its step or backout finished or failed
// with an exit code) is not stopped again; one whose step failed without
// an exit status (the connection was lost) is.
func TestReplayRemoteGroups(t *testing.T) {
	ev := func(host string, a store.Action, msg string, code *int) store.Event {
		return store.Event{Kind: store.KindStep, Stage: "web", Host: host, Step: "switch", Action: a, Message: msg, ExitCode: code}
	}
	group := func(tag string) string { return "remote process group 100 (pid 100, tag golive-" + tag + ")" }
	h := replay([]store.Event{
		ev("h1", ActionRemoteStarted, group("a1"), nil),
		ev("h1", store.ActionFinished, "", store.ExitCode(0)),
		ev("h2", ActionRemoteStarted, group("b2"), nil),
		ev("h2", store.ActionFailed, "connection lost", nil),
		ev("h3", ActionRemoteStarted, group("c3"), nil),
		ev("h3", store.ActionFailed, "", store.ExitCode(3)),
		ev("h3", ActionBackoutRemoteStarted, group("d4"), nil),
		ev("h3", store.ActionBackedOut, "", store.ExitCode(0)),
		ev("h4", ActionRemoteStarted, group("e5"), nil),
		ev("h4", ActionRemoteStopped, "stopped "+group("e5"), nil),
	})
	left := h.remoteLeft()
	if len(left) != 1 || left[0].proc.Tag != "golive-b2" || left[0].host != "h2" {
		t.Fatalf("remoteLeft = %+v, want only h2's group golive-b2", left)
	}
}
