package ui

import (
	"fmt"
	"strings"
	"time"

	"github.com/golive-dev/golive/internal/rollout"
	"github.com/golive-dev/golive/internal/store"
)

// Actions the engine journals beyond store's vocabulary.
const (
	actionBackoutStarted store.Action = "backout_started"
	actionNotBackedOut   store.Action = "not_backed_out"
	actionNeedsAttention store.Action = "needs_attention"
)

// cell is the state of one step (or of a host, or a health column) in the
// matrix.
type cell uint8

const (
	cellPending cell = iota
	cellRunning
	cellOK
	cellFailed
	cellBackedOut
	cellBackoutFailed
	cellSkipped
	cellTerminated // stopped by golive because the run failed elsewhere
)

// stageView is what Progress knows about one stage.
type stageView struct {
	name      string
	batches   []*rollout.Batch
	steps     []string
	stepIdx   map[string]int
	hasHealth bool
	hosts     []*hostView // in rollout order: batch by batch
	hostIdx   map[string]*hostView
	started   bool
	state     cell // pending, running, ok (finished), failed
	batch     int  // the batch started last, 1-based; 0 before the first
}

// hostView is one host's row in a stage.
type hostView struct {
	name    string
	batch   int
	state   cell
	steps   []cell
	health  cell
	passed  int // health checks passed
	nHealth int
	note    string // what it is doing, or why it failed
	failed  bool   // a failure of this host is in the failures list
	// backoutFailed: a failed backout of this host is in the failures list
	backoutFailed bool
}

// checkView is one verify check.
type checkView struct {
	name  string
	state cell
}

// failure is one thing that failed, for the failures section.
type failure struct {
	stage, host, what string
	exit              *int
	dur               time.Duration
	output, message   string
}

func newStageView(s *rollout.Stage) *stageView {
	sv := &stageView{name: s.Name, batches: s.Batches, stepIdx: map[string]int{}, hostIdx: map[string]*hostView{}, hasHealth: s.HasHealth}
	for _, b := range s.Batches {
		for _, h := range b.Hosts {
			if sv.steps == nil {
				for i, st := range h.Steps {
					sv.steps = append(sv.steps, st.Name)
					sv.stepIdx[st.Name] = i
				}
			}
			hv := &hostView{name: h.Name, batch: b.Index, steps: make([]cell, len(sv.steps)), nHealth: len(h.Health)}
			for i, st := range h.Steps {
				if st.Skip && i < len(hv.steps) {
					hv.steps[i] = cellSkipped
				}
			}
			sv.hasHealth = sv.hasHealth || len(h.Health) > 0
			sv.hosts = append(sv.hosts, hv)
			sv.hostIdx[h.Name] = hv
		}
	}
	return sv
}

// stage returns the view of stage name, nil for an unknown stage.
func (p *Progress) stage(name string) *stageView {
	sv := p.byName[name]
	if sv != nil && !sv.started {
		sv.started = true
		sv.state = cellRunning
	}
	return sv
}

// host returns the view of host name in stage, adding a row for a host the
// rollout did not list; nil for an unknown stage.
func (p *Progress) host(stage, name string, batch int) *hostView {
	sv := p.stage(stage)
	if sv == nil || name == "" {
		return nil
	}
	hv := sv.hostIdx[name]
	if hv == nil {
		hv = &hostView{name: name, batch: batch, steps: make([]cell, len(sv.steps))}
		sv.hosts = append(sv.hosts, hv)
		sv.hostIdx[name] = hv
	}
	return hv
}

// apply updates the model with e.
func (p *Progress) apply(e store.Event, now time.Time) {
	switch e.Kind {
	case store.KindState:
		p.state, p.reason = string(e.Action), e.Message
		p.ended = time.Time{}
		if store.State(e.Action).Terminal() {
			p.ended = now
		}
	case store.KindStage:
		p.applyStage(e)
	case store.KindBatch:
		if sv := p.stage(e.Stage); sv != nil && e.Action == store.ActionStarted {
			sv.batch = e.Batch
		}
	case store.KindHost:
		p.applyHost(e)
	case store.KindStep:
		p.applyStep(e)
	case store.KindCheck:
		p.applyCheck(e)
	case store.KindRun:
		if e.Action == actionNeedsAttention {
			p.applyAttention(e)
		}
	case store.KindMonitor:
		if e.Action == store.ActionFailed {
			p.fails = append(p.fails, failure{what: "monitor " + quoteName(e.Step), message: e.Message, output: e.Output})
		}
	}
}

func (p *Progress) applyStage(e store.Event) {
	sv := p.stage(e.Stage)
	if sv == nil {
		return
	}
	switch e.Action {
	case store.ActionFinished:
		sv.state = cellOK
	case store.ActionFailed:
		sv.state = cellFailed
	}
}

func (p *Progress) applyHost(e store.Event) {
	hv := p.host(e.Stage, e.Host, e.Batch)
	if hv == nil {
		return
	}
	if isBackoutVerdict(e.Action) {
		p.applyBackoutVerdict(hv, e)
		return
	}
	switch e.Action {
	case store.ActionStarted:
		hv.state = cellRunning
	case store.ActionFinished:
		hv.state, hv.note = cellOK, ""
	case store.ActionFailed:
		hv.state = cellFailed
		if e.Message != "" && hv.note == "" {
			hv.note = oneLine(e.Message)
		}
		p.addFailure(hv, failure{stage: e.Stage, host: e.Host, what: "host failed", message: e.Message, output: e.Output, exit: e.ExitCode})
	case store.ActionTerminated:
		hv.state = cellTerminated
	case actionBackoutStarted:
		hv.note = "backing out"
	case store.ActionBackedOut:
		hv.state, hv.note = cellBackedOut, "backed out"
	case store.ActionBackoutFailed:
		hv.state, hv.note = cellBackoutFailed, "backout failed"
		if e.Message != "" {
			hv.note += ": " + oneLine(e.Message)
		}
		if !hv.backoutFailed { // no step's backout failed: say why the host's did
			hv.backoutFailed = true
			p.fails = append(p.fails, failure{stage: e.Stage, host: e.Host, what: "backout failed", exit: e.ExitCode, output: e.Output, message: e.Message})
		}
	}
}

func (p *Progress) applyStep(e store.Event) {
	hv := p.host(e.Stage, e.Host, e.Batch)
	if hv == nil {
		return
	}
	if hv.state == cellPending && e.Action == store.ActionStarted {
		hv.state = cellRunning
	}
	c, note := stepCell(e)
	if i, ok := p.byName[e.Stage].stepIdx[e.Step]; ok && i < len(hv.steps) && c != cellPending {
		hv.steps[i] = c
	}
	if note != "" || c == cellOK {
		hv.note = note
	}
	switch e.Action {
	case store.ActionFailed, store.ActionTimedOut:
		what := "step " + quoteName(e.Step)
		if e.Action == store.ActionTimedOut {
			what += " timed out"
		}
		p.addFailure(hv, failure{stage: e.Stage, host: e.Host, what: what, exit: e.ExitCode, dur: e.Duration, output: e.Output, message: e.Message})
	case store.ActionBackoutFailed:
		hv.backoutFailed = true
		p.fails = append(p.fails, failure{stage: e.Stage, host: e.Host, what: "backout of step " + quoteName(e.Step), exit: e.ExitCode, dur: e.Duration, output: e.Output, message: e.Message})
	}
}

// stepCell is the cell and the host's note after step event e.
func stepCell(e store.Event) (cell, string) {
	switch e.Action {
	case store.ActionStarted:
		if e.Message != "" { // attempt 2/3
			return cellRunning, e.Step + " (" + oneLine(e.Message) + ")"
		}
		return cellRunning, e.Step
	case actionBackoutStarted:
		return cellRunning, "backing out " + e.Step
	case actionNotBackedOut:
		return cellPending, e.Step + " not backed out"
	case store.ActionRetried:
		return cellRunning, e.Step + " (retrying" + exitText(e.ExitCode, ", ") + ")"
	case store.ActionFinished:
		return cellOK, ""
	case store.ActionFailed:
		return cellFailed, e.Step + " failed" + exitText(e.ExitCode, ", ")
	case store.ActionTimedOut:
		return cellFailed, e.Step + " timed out"
	case store.ActionSkipped:
		return cellSkipped, ""
	case store.ActionTerminated:
		return cellTerminated, e.Step + " terminated"
	case store.ActionBackedOut:
		return cellBackedOut, ""
	case store.ActionBackoutFailed:
		return cellBackoutFailed, "backout of " + e.Step + " failed" + exitText(e.ExitCode, ", ")
	}
	return cellPending, ""
}

func (p *Progress) applyCheck(e store.Event) {
	c := checkCell(e.Action)
	if e.Stage == "" {
		p.applyVerify(e, c)
		return
	}
	hv := p.host(e.Stage, e.Host, e.Batch)
	if hv == nil || p.applyRestoreCheck(hv, e) {
		return
	}
	switch c {
	case cellRunning:
		if hv.health == cellPending {
			hv.health = cellRunning
		}
	case cellOK:
		hv.passed++
		if hv.health != cellFailed && hv.passed >= hv.nHealth {
			hv.health = cellOK
		}
	case cellTerminated:
		if hv.health != cellFailed {
			hv.health = cellTerminated
		}
	case cellFailed:
		hv.health = cellFailed
		hv.note = "health " + quoteName(e.Step) + " failed"
		p.addFailure(hv, failure{stage: e.Stage, host: e.Host, what: "health check " + quoteName(e.Step), exit: e.ExitCode, dur: e.Duration, output: e.Output, message: e.Message})
	}
}

func (p *Progress) applyVerify(e store.Event, c cell) {
	var cv *checkView
	for _, v := range p.verify {
		if v.name == e.Step {
			cv = v
		}
	}
	if cv == nil {
		cv = &checkView{name: e.Step}
		p.verify = append(p.verify, cv)
	}
	if c != cellPending && cv.state != cellFailed { // failed stays failed, whatever the other hosts say
		cv.state = c
	}
	if c == cellFailed {
		p.fails = append(p.fails, failure{host: e.Host, what: "verify check " + quoteName(e.Step), exit: e.ExitCode, dur: e.Duration, output: e.Output, message: e.Message})
	}
}

func checkCell(a store.Action) cell {
	switch a {
	case store.ActionStarted:
		return cellRunning
	case store.ActionPassed, store.ActionFinished:
		return cellOK
	case store.ActionFailed, store.ActionTimedOut:
		return cellFailed
	case store.ActionTerminated:
		return cellTerminated
	}
	return cellPending
}

func (p *Progress) applyAttention(e store.Event) {
	msg := oneLine(e.Message)
	host := e.Host
	if host == "" { // the engine says "HOST: why"
		if h, _, ok := strings.Cut(msg, ":"); ok && p.knownHost(h) {
			host = h
		}
	}
	who := msg
	switch {
	case e.Host != "" && msg != "":
		who = e.Host + " (" + msg + ")"
	case e.Host != "":
		who = e.Host
	case who == "":
		who = "run"
	}
	p.attn = append(p.attn, who)
	for _, sv := range p.stages {
		if hv := sv.hostIdx[host]; hv != nil && sv.started {
			hv.note = "needs attention"
		}
	}
	p.fails = append(p.fails, failure{stage: e.Stage, host: e.Host, what: "needs attention", message: e.Message, output: e.Output})
}

func (p *Progress) knownHost(name string) bool {
	for _, sv := range p.stages {
		if sv.hostIdx[name] != nil {
			return true
		}
	}
	return false
}

// addFailure records f unless hv's failure is already recorded: a host's
// "failed" event follows the failure of its step or check, which says more.
func (p *Progress) addFailure(hv *hostView, f failure) {
	if hv.failed {
		return
	}
	hv.failed = true
	p.fails = append(p.fails, f)
}

func exitText(code *int, sep string) string {
	if code == nil {
		return ""
	}
	return fmt.Sprintf("%sexit %d", sep, *code)
}

func quoteName(s string) string {
	if s == "" {
		return "(unnamed)"
	}
	return s
}
