package engine

import (
	"context"
	"testing"

	"github.com/golive-dev/golive/internal/check"
	"github.com/golive-dev/golive/internal/rollout"
	"github.com/golive-dev/golive/internal/store"
)

// TestCompareSkipJournaledOnce: a compare monitor that cannot evaluate
// (no batch has started) journals why once, not at every interval.
func TestCompareSkipJournaledOnce(t *testing.T) {
	x := &execution{hist: newHistory()}
	m, st := &rollout.Monitor{Name: "latency"}, &compareState{}
	for i, want := range []store.Action{store.ActionSkipped, ""} {
		ev, err := x.evalCompare(context.Background(), m, st)
		if err != nil || ev.Action != want {
			t.Fatalf("evaluation %d: %+v, %v; want action %q", i+1, ev, err, want)
		}
		if want != "" && ev.Message != "skipped: no batch has started yet" {
			t.Errorf("evaluation %d: message %q", i+1, ev.Message)
		}
	}
}

// TestSideTextListsFiveHosts: a side's text names up to five hosts, then
// says how many more.
func TestSideTextListsFiveHosts(t *testing.T) {
	for n, want := range map[int]string{
		5: "1.5 [h1 h2 h3 h4 h5]",
		6: "1.5 [h1 h2 h3 h4 h5 and 1 more]",
	} {
		var hosts []string
		for i := 1; i <= n; i++ {
			hosts = append(hosts, "h"+string(rune('0'+i)))
		}
		if got := sideText(check.Side{Hosts: hosts, Value: 1.5}); got != want {
			t.Errorf("%d hosts: %q, want %q", n, got, want)
		}
	}
}
