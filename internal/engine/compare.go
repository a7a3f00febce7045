package engine

import (
	"context"
	"fmt"
	"strings"

	"github.com/golive-dev/golive/internal/check"
	"github.com/golive-dev/golive/internal/rollout"
	"github.com/golive-dev/golive/internal/store"
)

// ActionInconclusive: a compare monitor's evaluation reached no verdict
// (KindMonitor; Message says why, with the values it had).
const ActionInconclusive store.Action = "inconclusive"

// batchRef names a batch of a stage.
type batchRef struct {
	stage string
	index int
}

func (b batchRef) String() string { return fmt.Sprintf("%s/%d", b.stage, b.index) }

// currentBatch is the batch that started last, if any.
func (h *history) currentBatch() (batchRef, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.batchNow, h.batchNow.stage != ""
}

// touchedHosts are the hosts a step has started on, in any stage.
func (h *history) touchedHosts() map[string]bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := map[string]bool{}
	for _, k := range h.started {
		out[k.host] = true
	}
	return out
}

// compareState is what a compare monitor remembers between evaluations.
type compareState struct {
	batch            batchRef
	canary, baseline []float64 // values of the current batch's evaluations
	fails, unsure    int       // failed, inconclusive evaluations in a row
	lastSkip         string
}

// compareScopes returns the current batch (the canary's hosts) and the
// untouched hosts (the baseline); why is set when there is nothing to
// compare.
func (x *execution) compareScopes() (b batchRef, canary, baseline []*rollout.Host, why string) {
	b, ok := x.hist.currentBatch()
	if !ok {
		return b, nil, nil, "no batch has started yet"
	}
	for _, s := range x.ro.Stages {
		if s.Name != b.stage {
			continue
		}
		for _, rb := range s.Batches {
			if rb.Index == b.index {
				canary = rb.Hosts
			}
		}
	}
	inCanary := map[string]bool{}
	for _, h := range canary {
		inCanary[h.Name] = true
	}
	touched := x.hist.touchedHosts()
	for _, h := range x.ro.AllHosts() {
		if !touched[h.Name] && !inCanary[h.Name] {
			baseline = append(baseline, h)
		}
	}
	switch {
	case len(canary) == 0:
		return b, nil, nil, fmt.Sprintf("batch %s is not in this rollout", b)
	case len(baseline) == 0:
		return b, nil, nil, fmt.Sprintf("no untouched host is left to compare batch %s with", b)
	}
	return b, canary, baseline, ""
}

// hostKeys returns the names and the addresses (the name when a host has
// none) of hosts.
func hostKeys(hosts []*rollout.Host) (names, addrs []string) {
	for _, h := range hosts {
		names = append(names, h.Name)
		addrs = append(addrs, cmpOr(h.Address, h.Name))
	}
	return names, addrs
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// watchCompare evaluates a compare monitor at once and then every
// interval until the run stops it: failure_limit failures in a row fail
// the run; inconclusive_limit inconclusive evaluations in a row pause it.
func (x *execution) watchCompare(ctx context.Context, m *rollout.Monitor, cancel context.CancelCauseFunc) {
	st := &compareState{}
	for {
		ev, stop := x.evalCompare(ctx, m, st)
		if ctx.Err() != nil {
			return
		}
		if ev.Action != "" {
			x.journal(ctx, ev)
		}
		if stop != nil {
			cancel(stop)
			return
		}
		if err := x.e.o.Clock.Sleep(ctx, m.Interval); err != nil {
			return
		}
	}
}

// evalCompare runs one evaluation: the journal event to write (none for
// a skip already journaled) and the error that stops the run, if any.
func (x *execution) evalCompare(ctx context.Context, m *rollout.Monitor, st *compareState) (store.Event, error) {
	ev := store.Event{Kind: store.KindMonitor, Step: m.Name}
	b, canaryHosts, baseHosts, why := x.compareScopes()
	ev.Stage, ev.Batch = b.stage, b.index
	if why != "" {
		if why == st.lastSkip {
			return store.Event{}, nil
		}
		st.lastSkip = why
		ev.Action, ev.Message = store.ActionSkipped, "skipped: "+why
		return ev, nil
	}
	st.lastSkip = ""
	if b != st.batch { // a new canary: its samples start again
		st.batch, st.canary, st.baseline = b, nil, nil
	}
	cn, ca := hostKeys(canaryHosts)
	bn, ba := hostKeys(baseHosts)
	canary := check.QuerySide(ctx, m.URL, m.Query, cn, ca)
	base := check.QuerySide(ctx, m.URL, m.Query, bn, ba)
	c := m.Compare
	sides := fmt.Sprintf("canary %s vs baseline %s", sideText(canary), sideText(base))
	if canary.Err != nil || base.Err != nil {
		return x.inconclusive(m, st, ev, fmt.Sprintf("batch %s: no data", b), sides)
	}
	st.canary, st.baseline = append(st.canary, canary.Value), append(st.baseline, base.Value)
	if n := len(st.canary) - c.MinSamples; n > 0 {
		st.canary, st.baseline = st.canary[n:], st.baseline[n:]
	}
	if len(st.canary) < c.MinSamples {
		return x.inconclusive(m, st, ev, fmt.Sprintf("batch %s: too few samples (%d of min_samples %d)", b, len(st.canary), c.MinSamples), sides)
	}
	st.unsure = 0
	cm, bm := mean(st.canary, c.MinSamples), mean(st.baseline, c.MinSamples)
	ratio := check.Ratio(cm, bm)
	verdict := fmt.Sprintf("batch %s: canary %.4g / baseline %.4g = ratio %.3g", b, cm, bm, ratio)
	means := ""
	if c.MinSamples > 1 {
		means = fmt.Sprintf(" (means of the last %d samples)", c.MinSamples)
	}
	if ratio <= c.MaxRatio {
		st.fails = 0
		ev.Action, ev.Message = store.ActionPassed, fmt.Sprintf("%s <= max_ratio %g%s; now %s", verdict, c.MaxRatio, means, sides)
		return ev, nil
	}
	st.fails++
	detail := fmt.Sprintf("%s > max_ratio %g%s; now %s", verdict, c.MaxRatio, means, sides)
	ev.Action, ev.Message = store.ActionFailed, fmt.Sprintf("%s (%d/%d)", detail, st.fails, m.FailureLimit)
	if st.fails >= m.FailureLimit {
		return ev, &MonitorError{Name: m.Name, Detail: detail, Fails: st.fails}
	}
	return ev, nil
}

// inconclusive journals an evaluation without a verdict (no data, or too
// few samples of the batch yet) and pauses the run after
// inconclusive_limit of them in a row.
func (x *execution) inconclusive(m *rollout.Monitor, st *compareState, ev store.Event, why, sides string) (store.Event, error) {
	st.unsure++
	ev.Action = ActionInconclusive
	ev.Message = fmt.Sprintf("%s: inconclusive (%d/%d): %s", why, st.unsure, m.InconclusiveLimit, sides)
	if st.unsure >= m.InconclusiveLimit {
		return ev, &PauseError{For: fmt.Sprintf("monitor %q: %d inconclusive evaluation(s) in a row, last: %s: %s; check the monitoring (and that batches last min_samples × interval: strategy.pause), then `golive resume %s` (or `golive backout %s`)",
			m.Name, st.unsure, why, sides, x.run.ID, x.run.ID)}
	}
	return ev, nil
}

// mean is the mean of the last n values.
func mean(vs []float64, n int) float64 {
	vs = vs[max(len(vs)-n, 0):]
	sum := 0.0
	for _, v := range vs {
		sum += v
	}
	return sum / float64(len(vs))
}

// sideText is a side's value (or why it has none) and its hosts.
func sideText(s check.Side) string {
	hosts := s.Hosts
	more := ""
	if len(hosts) > 5 {
		hosts, more = hosts[:5], fmt.Sprintf(" and %d more", len(s.Hosts)-5)
	}
	list := "[" + strings.Join(hosts, " ") + more + "]"
	if s.Err != nil {
		return list + ": " + s.Err.Error()
	}
	return fmt.Sprintf("%.4g %s", s.Value, list)
}
