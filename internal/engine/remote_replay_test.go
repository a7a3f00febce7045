package engine

import (
	"strings"
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

// TestRemoteLeftInOrder: the groups left are listed by stage, host and
// tag, whatever order the journal gave them in (their stops are
// journaled in that order).
func TestRemoteLeftInOrder(t *testing.T) {
	started := func(stage, host, tag string) store.Event {
		return store.Event{Kind: store.KindStep, Stage: stage, Host: host, Step: "s", Action: ActionRemoteStarted,
			Message: "remote process group 7 (pid 7, tag golive-" + tag + ")"}
	}
	for try := 0; try < 10; try++ { // remoteLeft reads a map: try several orders
		h := replay([]store.Event{
			started("web", "h2", "b1"), started("db", "h9", "f1"), started("web", "h1", "c1"),
			started("web", "h1", "a1"), started("web", "h3", "01"),
		})
		var got []string
		for _, p := range h.remoteLeft() {
			got = append(got, p.stage+"/"+p.host+"/"+p.proc.Tag)
		}
		want := []string{"db/h9/golive-f1", "web/h1/golive-a1", "web/h1/golive-c1", "web/h2/golive-b1", "web/h3/golive-01"}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Fatalf("remoteLeft = %v, want %v", got, want)
		}
	}
}

// TestRemoteLeftOfOneStep: what a step's new attempt stops first is the
// groups its earlier attempts left on its host (in tag order), not other
// steps', hosts', stages' or its backout's.
func TestRemoteLeftOfOneStep(t *testing.T) {
	started := func(stage, host, step, tag string, a store.Action) store.Event {
		return store.Event{Kind: store.KindStep, Stage: stage, Host: host, Step: step, Action: a,
			Message: "remote process group 7 (pid 7, tag golive-" + tag + ")"}
	}
	for try := 0; try < 10; try++ {
		h := replay([]store.Event{
			started("web", "h1", "s", "c1", ActionRemoteStarted), started("web", "h1", "s", "a1", ActionRemoteStarted),
			started("web", "h1", "t", "b1", ActionRemoteStarted), started("web", "h2", "s", "d1", ActionRemoteStarted),
			started("db", "h1", "s", "e1", ActionRemoteStarted), started("web", "h1", "s", "f1", ActionBackoutRemoteStarted),
		})
		var got []string
		for _, p := range h.remoteLeftOf(key{"web", "h1", "s"}) {
			got = append(got, p.proc.Tag)
		}
		if want := "golive-a1 golive-c1"; strings.Join(got, " ") != want {
			t.Fatalf("remoteLeftOf(web/h1/s) = %v, want %s", got, want)
		}
	}
	if got := newHistory().remoteLeftOf(key{"web", "h1", "s"}); len(got) != 0 {
		t.Errorf("remoteLeftOf on an empty history = %v", got)
	}
}
