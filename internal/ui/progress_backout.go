package ui

import (
	"github.com/golive-dev/golive/internal/store"
)

// The engine's verdicts on a backed-out host's restored release (KindHost,
// Message "verified healthy at 1.0", "NOT healthy at 1.0: ...", "not
// verified: ..."); see engine/backout_verify.go.
const (
	actionBackoutVerified   store.Action = "backout_verified"
	actionBackoutUnhealthy  store.Action = "backout_unhealthy"
	actionBackoutUnverified store.Action = "backout_unverified"
)

func isBackoutVerdict(a store.Action) bool {
	return a == actionBackoutVerified || a == actionBackoutUnhealthy || a == actionBackoutUnverified
}

// applyBackoutVerdict shows a host's verdict as its note: "backed out,
// verified healthy at 1.0". A restored release that is not healthy turns
// the host's row red.
func (p *Progress) applyBackoutVerdict(hv *hostView, e store.Event) {
	hv.note = "backed out, " + oneLine(e.Message)
	if e.Action == actionBackoutUnhealthy {
		hv.state = cellBackoutFailed
	}
}

// applyRestoreCheck shows a health check of the restored release, run
// after the host was backed out (or, in a later `golive backout`, while
// the run is backing out): it does not count as the rollout's health
// check of the host. It reports whether e was one.
func (p *Progress) applyRestoreCheck(hv *hostView, e store.Event) bool {
	if hv.state != cellBackedOut && p.state != string(store.StateBackingOut) {
		return false
	}
	switch checkCell(e.Action) {
	case cellRunning:
		hv.note = "backed out, checking " + quoteName(e.Step)
	case cellFailed:
		p.fails = append(p.fails, failure{stage: e.Stage, host: e.Host, what: "health check " + quoteName(e.Step) + " after the backout", exit: e.ExitCode, dur: e.Duration, output: e.Output, message: e.Message})
	}
	return true
}
