package timeline

import (
	"cmp"
	"slices"
	"time"

	"github.com/golive-dev/golive/internal/store"
)

// outcome is how a bar (a step, a check, a backout) ended.
type outcome int

const (
	running       outcome = iota // started, no end journaled (yet)
	ok                           // finished, passed
	failed                       // failed, timed out
	retried                      // failed, then tried again
	terminated                   // stopped by golive (budget, abort, interrupted)
	skipped                      // `when` was false
	backedOut                    // a backout that worked
	backoutFailed                // a backout that did not
	notBackedOut                 // a step without a backout
)

// worse orders outcomes for aggregate bars: the worst one colours them.
var worse = map[outcome]int{ok: 0, skipped: 1, notBackedOut: 2, backedOut: 3, retried: 4, running: 5, terminated: 6, backoutFailed: 7, failed: 8}

// span is one bar: a step, a check or a step's backout on one host.
type span struct {
	check      bool // a check, not a step
	name       string
	host       string // where it ran ("": the controller)
	backout    bool   // drawn in the backout lane
	start, end time.Time
	out        outcome
	action     store.Action // the journal's word for the end
	exit       *int
	msg        string
}

// hostState is what the journal says of a host as a whole.
type hostState int

const (
	hostRunning hostState = iota
	hostOK
	hostFailed
	hostTerminated
)

// backState is how far a host's backout went.
type backState int

const (
	backNone backState = iota
	backRunning
	backDone
	backFailed
)

// row is one host in one stage.
type row struct {
	stage, host string
	batch       int
	first       time.Time
	spans       []span
	open        map[openKey]int // index in spans of bars not ended
	state       hostState
	started     bool // a host event said it started
	back        backState
	why         string // the host's failure
}

type openKey struct {
	check, backout bool
	name, host     string
}

// batch is one batch of a stage, as the journal numbers it.
type batch struct {
	stage      string
	index      int
	start, end time.Time
	rows       []*row
}

// gate is a stage gate or the sign-off: when approvals were asked for and
// when they were given.
type gate struct {
	name          string
	asked, passed time.Time
	msg           string
}

// marker is a moment of the whole run worth a line: it failed, an
// operator asked it to stop.
type marker struct {
	at           time.Time
	label, about string
}

// model is the journal folded into what the picture shows.
type model struct {
	t0, t1  time.Time
	stages  []string
	batches []*batch
	rows    map[string]*row
	verify  *row // the run's verify checks (no host)
	gates   []*gate
	markers []marker // failure first, when there is one
	failure *marker
	state   store.State
	reason  string
	hasBack bool
}

func (m *model) rowFor(stage, host string, b int, t time.Time) *row {
	k := stage + "\x00" + host
	r := m.rows[k]
	if r == nil {
		r = &row{stage: stage, host: host, batch: b, first: t, open: map[openKey]int{}}
		m.rows[k] = r
		m.stage(stage)
	}
	if r.batch == 0 && b > 0 {
		r.batch = b
	}
	return r
}

func (m *model) stage(name string) {
	if !slices.Contains(m.stages, name) {
		m.stages = append(m.stages, name)
	}
}

func (m *model) batchFor(stage string, index int) *batch {
	for _, b := range m.batches {
		if b.stage == stage && b.index == index {
			return b
		}
	}
	b := &batch{stage: stage, index: index}
	m.batches = append(m.batches, b)
	m.stage(stage)
	return b
}

func (m *model) gateFor(name string) *gate {
	for _, g := range m.gates {
		if g.name == name {
			return g
		}
	}
	g := &gate{name: name}
	m.gates = append(m.gates, g)
	return g
}

// build folds a run's journal (in Seq order) into a model; now ends the
// bars of a run still going.
func build(events []store.Event, now time.Time) *model {
	m := &model{rows: map[string]*row{}}
	for _, e := range events {
		m.add(e)
	}
	m.span(events, now)
	m.group()
	return m
}

func (m *model) add(e store.Event) {
	switch e.Kind {
	case store.KindState:
		m.state, m.reason = store.State(e.Action), e.Message
		switch store.State(e.Action) {
		case store.StateFailed, store.StateBackoutFailed, store.StateAborted:
			if m.failure == nil {
				m.failure = &marker{at: e.Time, label: string(e.Action), about: e.Message}
			}
		}
	case store.KindBatch:
		b := m.batchFor(e.Stage, e.Batch)
		switch e.Action {
		case store.ActionStarted:
			if b.start.IsZero() {
				b.start = e.Time
			}
		default:
			b.end = e.Time
		}
	case store.KindHost:
		if e.Host != "" {
			m.hostEvent(m.rowFor(e.Stage, e.Host, e.Batch, e.Time), e)
		}
	case store.KindStep, store.KindCheck:
		if e.Stage != "" && e.Host != "" {
			m.barEvent(m.rowFor(e.Stage, e.Host, e.Batch, e.Time), e)
			return
		}
		// The run's verify checks: no stage, on the controller or a host.
		if m.verify == nil {
			m.verify = &row{host: "verify", first: e.Time, open: map[openKey]int{}}
		}
		m.barEvent(m.verify, e)
	case store.KindApproval:
		switch e.Action {
		case "approval_requested":
			if g := m.gateFor(e.Step); g.asked.IsZero() {
				g.asked, g.msg = e.Time, e.Message
			}
		case "gate_passed":
			g := m.gateFor(e.Step)
			g.passed, g.msg = e.Time, e.Message
			if g.asked.IsZero() {
				g.asked = e.Time
			}
		}
	case store.KindRun:
		if e.Action == "abort_requested" {
			about := e.Message
			if e.Actor != "" {
				about = "by " + e.ActorIdentity().String() + ": " + about
			}
			m.markers = append(m.markers, marker{at: e.Time, label: "abort requested", about: about})
		}
	}
}

func (m *model) hostEvent(r *row, e store.Event) {
	switch e.Action {
	case store.ActionStarted:
		r.state, r.started = hostRunning, true
	case store.ActionFinished:
		r.state = hostOK
	case store.ActionFailed:
		r.state, r.why = hostFailed, e.Message
	case store.ActionTerminated:
		r.state, r.why = hostTerminated, e.Message
	case "backout_started":
		r.back, m.hasBack = backRunning, true
	case store.ActionBackedOut:
		r.back = backDone
	case store.ActionBackoutFailed:
		r.back, r.why = backFailed, e.Message
	}
}

// barEvent opens or ends a bar of r.
func (m *model) barEvent(r *row, e store.Event) {
	check := e.Kind == store.KindCheck
	var out outcome
	start := false
	back := check && r.back != backNone
	switch e.Action {
	case store.ActionStarted:
		start = true
	case "backout_started":
		start, back = true, true
	case store.ActionFinished, store.ActionPassed:
		out = ok
	case store.ActionFailed, store.ActionTimedOut:
		out = failed
	case store.ActionRetried:
		out = retried
	case store.ActionTerminated:
		out = terminated
	case store.ActionSkipped:
		out = skipped
	case store.ActionBackedOut:
		out, back = backedOut, true
	case store.ActionBackoutFailed:
		out, back = backoutFailed, true
	case "not_backed_out":
		out, back = notBackedOut, true
	default:
		return
	}
	if back {
		m.hasBack = true
	}
	k := openKey{check: check, backout: back, name: e.Step, host: e.Host}
	if i, isOpen := r.open[k]; isOpen {
		delete(r.open, k)
		if start { // started again (a resumed run): the first attempt's end is unknown
			r.spans[i].end, r.spans[i].out, r.spans[i].msg = e.Time, terminated, "no end journaled (the run was resumed)"
		} else {
			s := &r.spans[i]
			s.end, s.out, s.action, s.exit, s.msg = e.Time, out, e.Action, e.ExitCode, e.Message
			return
		}
	}
	s := span{check: check, name: e.Step, host: e.Host, backout: back, start: e.Time, end: e.Time, action: e.Action, exit: e.ExitCode, msg: e.Message, out: out}
	if start {
		s.out, s.action = running, ""
		r.open[k] = len(r.spans)
	}
	r.spans = append(r.spans, s)
}

// span sets the picture's time span: from the run's first work (or its
// first event) to its last event, or now for a run still going.
func (m *model) span(events []store.Event, now time.Time) {
	if len(events) == 0 {
		return
	}
	m.t0 = events[0].Time
	for _, e := range events {
		if e.Kind != store.KindState && e.Kind != store.KindLock && e.Kind != store.KindReview || e.Action == store.Action(store.StateRunning) {
			m.t0 = e.Time
			break
		}
	}
	for _, e := range events {
		if e.Time.After(m.t1) {
			m.t1 = e.Time
		}
	}
	live := !m.state.Terminal()
	if live && now.After(m.t1) {
		m.t1 = now
	}
	for _, r := range m.allRows() {
		for _, i := range r.open {
			r.spans[i].end = m.t1
		}
	}
}

func (m *model) allRows() []*row {
	rows := make([]*row, 0, len(m.rows)+1)
	for _, r := range m.rows {
		rows = append(rows, r)
	}
	if m.verify != nil {
		rows = append(rows, m.verify)
	}
	return rows
}

// group puts each host row in its batch, batches in stage order then
// by index, rows by when they first appear.
func (m *model) group() {
	for _, r := range m.rows {
		b := m.batchFor(r.stage, r.batch)
		b.rows = append(b.rows, r)
	}
	for _, b := range m.batches {
		slices.SortFunc(b.rows, func(x, y *row) int {
			return cmp.Or(x.first.Compare(y.first), cmp.Compare(x.host, y.host))
		})
	}
	m.batches = slices.DeleteFunc(m.batches, func(b *batch) bool { return len(b.rows) == 0 })
	slices.SortStableFunc(m.batches, func(x, y *batch) int {
		return cmp.Or(cmp.Compare(slices.Index(m.stages, x.stage), slices.Index(m.stages, y.stage)), cmp.Compare(x.index, y.index))
	})
	if m.failure != nil {
		m.markers = append([]marker{*m.failure}, m.markers...)
	}
}

// hostRows is how many host rows the picture would have.
func (m *model) hostRows() int { return len(m.rows) }
