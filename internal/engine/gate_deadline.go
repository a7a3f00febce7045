package engine

import (
	"time"

	"github.com/golive-dev/golive/internal/store"
)

// beforeDeadline drops the decisions recorded at or after a sign-off's
// deadline (since + timeout; timeout 0: none): an approval that arrives
// after `confirm: {timeout}` ran out does not count, even when the run
// was paused and is resumed later.
func beforeDeadline(all []store.Approval, since time.Time, timeout time.Duration) []store.Approval {
	if timeout <= 0 {
		return all
	}
	deadline := since.Add(timeout)
	var out []store.Approval
	for _, a := range all {
		if a.Time.Before(deadline) {
			out = append(out, a)
		}
	}
	return out
}
