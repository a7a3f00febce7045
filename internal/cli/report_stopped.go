package cli

import (
	"fmt"
	"strings"

	"github.com/golive-dev/golive/internal/store"
)

// whyStopped is the report's "Why it stopped": for a run that did not
// succeed (or is paused), its reason and, when a monitor stopped it, the
// evaluations that decided it, with their values: the failures in a row
// that failed it, or the inconclusive evaluations that paused it.
func whyStopped(r store.Run, events []store.Event) []string {
	switch r.State {
	case store.StateSucceeded, store.StatePending, store.StateWaiting, store.StateRunning, store.StateVerifying:
		return nil
	}
	out := []string{"reason: " + r.Reason}
	streaks := map[string][]store.Event{} // monitor -> its last failures or inconclusive evaluations in a row
	for _, ev := range events {
		if ev.Kind != store.KindMonitor {
			continue
		}
		switch ev.Action {
		case store.ActionPassed:
			delete(streaks, ev.Step)
		case store.ActionFailed, "inconclusive":
			s := streaks[ev.Step]
			if len(s) > 0 && s[len(s)-1].Action != ev.Action {
				s = nil
			}
			streaks[ev.Step] = append(s, ev)
		}
	}
	for name, s := range streaks {
		if !strings.Contains(r.Reason, fmt.Sprintf("monitor %q", name)) {
			continue
		}
		for _, ev := range s {
			out = append(out, fmt.Sprintf("monitor %s %s at %s: %s", name, ev.Action, fmtTime(ev.Time), ev.Message))
		}
	}
	return out
}
