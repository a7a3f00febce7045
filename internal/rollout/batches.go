package rollout

import "github.com/golive-dev/golive/internal/plan"

// Split divides n hosts into batches: the canary first (when set and
// smaller than n), then batches of the strategy's size (a percentage is of
// all n hosts, rounded up; default: everything left in one batch). It
// returns the size of each batch.
func Split(n int, canary *plan.Count, batch *plan.Size) []int {
	var sizes []int
	left := n
	if canary != nil && canary.N > 0 && left > 0 {
		c := min(canary.N, left)
		sizes = append(sizes, c)
		left -= c
	}
	size := left
	if batch != nil {
		size = max(batch.Of(n), 1)
	}
	for left > 0 {
		b := min(size, left)
		sizes = append(sizes, b)
		left -= b
	}
	return sizes
}

// FailureBudget is how many of a stage's n hosts may fail before the run
// fails: max_failed as a count, or a percentage of n rounded down.
func FailureBudget(n int, maxFailed *plan.Size) int {
	if maxFailed == nil {
		return 0
	}
	return maxFailed.OfDown(n)
}
