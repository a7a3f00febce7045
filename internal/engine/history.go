package engine

import (
	"sync"
	"time"

	"github.com/golive-dev/golive/internal/store"
)

// Engine-specific journal vocabulary, beside the store's.
const (
	// ActionBackoutStarted: the backout of a step started (KindStep).
	ActionBackoutStarted store.Action = "backout_started"
	// ActionBackoutAbandoned: the operator abandoned the run's backout
	// (KindRun); the run is left backing_out.
	ActionBackoutAbandoned store.Action = "backout_abandoned"
	// ActionNotBackedOut: a started step has no backout (KindStep).
	ActionNotBackedOut store.Action = "not_backed_out"
	// ActionAbortRequested: an operator asked the run to stop (KindRun).
	ActionAbortRequested store.Action = "abort_requested"
	// ActionNeedsAttention: a host could not be backed out (KindRun).
	ActionNeedsAttention store.Action = "needs_attention"
)

// key names a step on a host in a stage.
type key struct{ stage, host, step string }

// hostKey names a host in a stage.
type hostKey struct{ stage, host string }

// history is what the journal says happened, rebuilt from its events. It
// is all that resume and backout need.
type history struct {
	mu          sync.Mutex
	stageDone   map[string]bool
	hostDone    map[hostKey]bool
	hostFailed  map[hostKey]bool
	stepDone    map[key]bool
	started     []key // steps in the order they first started
	startedSet  map[key]bool
	backedOut   map[key]bool // backed out, or known to need no backout
	backoutFail map[key]bool
	verified    bool
	abort       *AbortError
	gates       map[string]bool      // gate -> passed
	asked       map[string]time.Time // gate -> when approvals were first requested
	windowNote  bool

	// retried: attempts of a step that failed and were retried; see
	// step_attempts.go.
	retried map[key]int
	// batchNow: the batch that started last (compare monitors' canary).
	batchNow batchRef
	// remote: process groups started on targets that may still run;
	// see remote.go.
	remote    map[string]remoteProc // by tag
	remoteCur map[remoteKey]string  // the tag of a script's latest group

	// restored: the backout of a host in a stage is verified (or known
	// to need no verification); see backout_verify.go.
	restored map[hostKey]bool
}

func newHistory() *history {
	return &history{
		stageDone: map[string]bool{}, hostDone: map[hostKey]bool{}, hostFailed: map[hostKey]bool{},
		stepDone: map[key]bool{}, startedSet: map[key]bool{}, backedOut: map[key]bool{}, backoutFail: map[key]bool{},
		gates: map[string]bool{}, asked: map[string]time.Time{}, restored: map[hostKey]bool{},
	}
}

// replay builds the history of a run from its journal.
func replay(events []store.Event) *history {
	h := newHistory()
	for _, e := range events {
		h.apply(e)
	}
	return h
}

func (h *history) apply(e store.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	k := key{e.Stage, e.Host, e.Step}
	hk := hostKey{e.Stage, e.Host}
	h.applyRemote(e, k)
	switch e.Kind {
	case store.KindStage:
		if e.Action == store.ActionFinished {
			h.stageDone[e.Stage] = true
		}
	case store.KindHost:
		switch e.Action {
		case store.ActionFinished:
			h.hostDone[hk] = true
			delete(h.hostFailed, hk)
		case store.ActionFailed:
			h.hostFailed[hk] = true
		case ActionBackoutVerified, ActionBackoutUnverified:
			h.restored[hk] = true
		}
	case store.KindBatch:
		if e.Action == store.ActionStarted {
			h.batchNow = batchRef{stage: e.Stage, index: e.Batch}
		}
	case store.KindStep:
		h.applyStep(e.Action, k)
	case store.KindApproval:
		switch e.Action {
		case ActionApprovalRequested:
			if _, ok := h.asked[e.Step]; !ok {
				h.asked[e.Step] = e.Time
			}
		case ActionGatePassed:
			h.gates[e.Step] = true
		}
	case store.KindRun:
		switch e.Action {
		case "window_closed":
			h.windowNote = true
		case ActionAbortRequested:
			if h.abort == nil {
				h.abort = &AbortError{By: e.ActorIdentity().String(), Reason: e.Message, NoBackout: e.Step == "no-backout"}
			}
		case store.ActionPassed:
			h.verified = true
		}
	}
}

func (h *history) applyStep(a store.Action, k key) {
	switch a {
	case store.ActionStarted:
		if !h.startedSet[k] {
			h.startedSet[k] = true
			h.started = append(h.started, k)
		}
		delete(h.stepDone, k)
	case store.ActionFinished, store.ActionSkipped:
		h.stepDone[k] = true
	case store.ActionBackedOut, ActionNotBackedOut:
		h.backedOut[k] = true
		delete(h.backoutFail, k)
	case store.ActionBackoutFailed:
		h.backoutFail[k] = true
	case store.ActionRetried:
		h.countRetry(k)
	}
}

func (h *history) isStageDone(stage string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.stageDone[stage]
}

func (h *history) isHostDone(stage, host string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.hostDone[hostKey{stage, host}]
}

func (h *history) isHostFailed(stage, host string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.hostFailed[hostKey{stage, host}]
}

func (h *history) isStepDone(stage, host, step string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.stepDone[key{stage, host, step}]
}

func (h *history) abortRequest() *AbortError {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.abort
}

// toBackOut returns, per stage in reverse order of first start, per host,
// the started steps not yet backed out, newest first.
func (h *history) toBackOut() (stages []string, work map[string]map[string][]string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	work = map[string]map[string][]string{}
	for i := len(h.started) - 1; i >= 0; i-- {
		k := h.started[i]
		if h.backedOut[k] {
			continue
		}
		if _, ok := work[k.stage]; !ok {
			work[k.stage] = map[string][]string{}
			stages = append(stages, k.stage)
		}
		work[k.stage][k.host] = append(work[k.stage][k.host], k.step)
	}
	return stages, work
}

// touchedHost reports whether any step started on host in stage.
func (h *history) touchedHost(stage, host string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, k := range h.started {
		if k.stage == stage && k.host == host {
			return true
		}
	}
	return false
}

func (h *history) gatePassed(gate string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.gates[gate]
}

func (h *history) requested(gate string) (time.Time, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	t, ok := h.asked[gate]
	return t, ok
}

func (h *history) windowFinishNoted() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.windowNote
}

func (h *history) isVerified() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.verified
}
