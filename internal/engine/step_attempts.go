package engine

import "github.com/golive-dev/golive/internal/rollout"

// countRetry records one more failed attempt of a step that was retried
// (h.mu held).
func (h *history) countRetry(k key) {
	if h.retried == nil {
		h.retried = map[key]int{}
	}
	h.retried[k]++
}

// usedAttempts is how many attempts of a step failed and were retried
// in this run, by this controller or one before it.
func (h *history) usedAttempts(stage, host, step string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.retried[key{stage, host, step}]
}

// firstAttempt is the number of the attempt a step starts with: 1, or,
// when a resumed run finds attempts that already failed, the one after
// them, so that an interrupted step does not get its retries back. The
// attempt that was interrupted does not count as used: it runs again.
func (x *execution) firstAttempt(stage, host string, st *rollout.Step) int {
	return min(x.hist.usedAttempts(stage, host, st.Name)+1, st.Retries+1)
}
