package ui

import (
	"io"
	"sync"
	"time"

	"github.com/golive-dev/golive/internal/clock"
	"github.com/golive-dev/golive/internal/rollout"
	"github.com/golive-dev/golive/internal/store"
)

// Defaults of ProgressOptions.
const (
	DefaultProgressWidth = 100
	DefaultRedrawEvery   = 100 * time.Millisecond
	// MaxProgressRows is the most host rows the TTY matrix shows; the rest
	// are summarised per stage in one "... and N more hosts" line.
	MaxProgressRows = 40
)

// ProgressOptions says how a Progress renders.
type ProgressOptions struct {
	TTY   bool        // redraw in place (ANSI cursor movement) vs. one line per event
	Style Style       // colours; used in TTY mode only (line mode never writes ANSI codes)
	Clock clock.Clock // for elapsed time and line timestamps (nil = the real clock)
	Width int         // terminal width (0 = 100); TTY lines are cut to fit
	// Height is the terminal height in lines (0 = unknown). When set, the
	// matrix shows fewer host rows so that the frame fits: a frame taller
	// than the screen cannot be redrawn in place.
	Height      int
	RedrawEvery time.Duration // TTY only: at most this often (default 100ms); Close draws the final state
}

// Progress shows a run as it happens. It is fed every journal event after
// the event is written. On a terminal it redraws a frame in place: a header,
// a progress bar per stage and a host × step matrix of the stages started so
// far. Otherwise it writes one timestamped line per event. Close ends it,
// and prints the failures, if any, with the last lines of their output.
type Progress struct {
	w     io.Writer
	o     ProgressOptions
	runID string
	r     *rollout.Rollout

	mu      sync.Mutex
	closed  bool
	started time.Time // when the Progress was made; elapsed counts from here
	ended   time.Time // when the run reached a terminal state; zero while it runs
	state   string
	reason  string
	stages  []*stageView
	byName  map[string]*stageView
	verify  []*checkView
	attn    []string // hosts that need attention, with why
	fails   []failure
	cols    lineCols
	tty     ttyState
	stop    chan struct{}
	done    chan struct{}
}

// ttyState is what the TTY renderer remembers between frames.
type ttyState struct {
	drawn     bool
	lastDraw  time.Time
	lastLines int    // lines of the frame on screen, to move up over
	lastFrame string // to skip redraws that change nothing
	dirty     bool
}

// NewProgress returns a Progress writing to w for run runID of rollout r.
// In TTY mode it starts a goroutine that redraws (for the elapsed time and
// for events that arrived too soon after the last frame); Close stops it.
func NewProgress(w io.Writer, r *rollout.Rollout, runID string, o ProgressOptions) *Progress {
	if o.Clock == nil {
		o.Clock = clock.Real()
	}
	if o.Width <= 0 {
		o.Width = DefaultProgressWidth
	}
	if o.RedrawEvery <= 0 {
		o.RedrawEvery = DefaultRedrawEvery
	}
	if r == nil {
		r = &rollout.Rollout{}
	}
	if !o.TTY {
		o.Style = Style{}
	}
	p := &Progress{w: w, o: o, runID: runID, r: r, byName: map[string]*stageView{}, started: o.Clock.Now()}
	for _, s := range r.Stages {
		sv := newStageView(s)
		p.stages = append(p.stages, sv)
		p.byName[s.Name] = sv
	}
	for _, c := range r.Verify {
		p.verify = append(p.verify, &checkView{name: c.Name})
	}
	p.cols = newLineCols(r)
	if o.TTY {
		p.stop, p.done = make(chan struct{}), make(chan struct{})
		go p.loop()
	}
	return p
}

// Observe takes in one journal event. It is safe for concurrent use; events
// after Close are ignored.
func (p *Progress) Observe(e store.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	now := p.o.Clock.Now()
	p.apply(e, now)
	if !p.o.TTY {
		p.writeLine(now, e)
		return
	}
	p.tty.dirty = true
	if !p.tty.drawn || now.Sub(p.tty.lastDraw) >= p.o.RedrawEvery {
		p.draw(now)
	}
}

// Close stops the redraw goroutine, draws the final frame (TTY mode), and
// then, if anything failed, prints the failures. It is safe to call more
// than once; only the first call writes.
func (p *Progress) Close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	p.mu.Unlock()
	if p.stop != nil {
		close(p.stop)
		<-p.done
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.o.TTY {
		p.tty.lastFrame = "" // always draw the final frame
		p.draw(p.o.Clock.Now())
	}
	p.writeFailures()
}

// loop redraws every RedrawEvery when something changed (an event that came
// too soon after the last frame, or the elapsed time).
func (p *Progress) loop() {
	defer close(p.done)
	t := p.o.Clock.NewTimer(p.o.RedrawEvery)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C():
		}
		p.mu.Lock()
		if !p.closed && p.tty.drawn {
			p.draw(p.o.Clock.Now())
		}
		p.mu.Unlock()
		t.Reset(p.o.RedrawEvery)
	}
}

// write writes s, ignoring errors: progress is best effort and must never
// stop a run.
func (p *Progress) write(s string) {
	_, _ = io.WriteString(p.w, s)
}

// elapsed is the run's elapsed time as shown: frozen once the run ended.
func (p *Progress) elapsed(now time.Time) time.Duration {
	if !p.ended.IsZero() {
		now = p.ended
	}
	return now.Sub(p.started)
}
