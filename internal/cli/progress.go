package cli

import (
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/term"

	"github.com/golive-dev/golive/internal/rollout"
	"github.com/golive-dev/golive/internal/store"
	"github.com/golive-dev/golive/internal/termsafe"
	"github.com/golive-dev/golive/internal/ui"
)

// progressSink shows a run's progress (ui.Progress, whose run id is known
// only once the run is created) without ever holding the run up: the
// engine hands it events, and a goroutine of its own writes them. A
// terminal frozen with Ctrl-S, or a pipe nobody reads, delays the display,
// not the release; past progressQueue pending events, events are dropped
// from the display (counted, and said once output flows again). A closed
// output (SIGPIPE is handled, see Run) only fails writes, which are
// ignored.
type progressSink struct {
	ro  *rollout.Rollout
	w   io.Writer
	tty bool

	p       *ui.Progress // used by the goroutine only
	ops     chan func()
	done    chan struct{}
	start   sync.Once
	dropped atomic.Int64
	mu      sync.Mutex // guards closed and sends on ops
	closed  bool
}

// progressQueue is how many display operations may wait for the output.
const progressQueue = 8192

// progressDrain is how long Close waits for what is queued to be written.
const progressDrain = 5 * time.Second

// progress makes the display of a run's progress on w; its rollout is set
// once known (release.Watch.Ready), before any event arrives.
func (e *env) progress(w io.Writer) *progressSink {
	return &progressSink{w: w, tty: e.colour(w), ops: make(chan func(), progressQueue), done: make(chan struct{})}
}

func (s *progressSink) run() {
	defer close(s.done)
	for op := range s.ops {
		if n := s.dropped.Swap(0); n > 0 {
			fmt.Fprintf(s.w, "golive: %d progress event(s) not shown: the output was not being read (`golive logs` has them all)\n", n)
		}
		op()
	}
}

// do queues op for the goroutine, dropping it when the queue is full.
func (s *progressSink) do(op func()) {
	s.start.Do(func() { go s.run() })
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	select {
	case s.ops <- op:
	default:
		s.dropped.Add(1)
	}
}

func (s *progressSink) printf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	s.do(func() { io.WriteString(s.w, msg) })
}

func (s *progressSink) setRun(id string) {
	s.do(func() {
		o := ui.ProgressOptions{TTY: s.tty, Style: ui.Style{Colour: s.tty}}
		w, ro := s.w, s.ro
		if f, ok := terminalFile(s.w); ok && s.tty {
			if w, h, err := term.GetSize(int(f.Fd())); err == nil {
				o.Width, o.Height = w, h
			}
		}
		if s.tty {
			// The live view moves the cursor: it writes raw, with the names
			// it shows cleaned here and step output cleaned by the view.
			w, ro = termsafe.Raw(s.w), termsafe.Clean(s.ro)
		}
		s.p = ui.NewProgress(w, ro, id, o)
	})
}

func (s *progressSink) Observe(ev store.Event) {
	s.do(func() {
		if s.p != nil {
			s.p.Observe(ev)
		}
	})
}

// Close shows what is queued (waiting up to progressDrain for the output
// to take it) and ends the display. It may be called more than once.
func (s *progressSink) Close() {
	s.start.Do(func() { go s.run() })
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	deadline := time.After(progressDrain)
	select {
	case s.ops <- func() {
		if s.p != nil {
			s.p.Close()
		}
	}:
	case <-deadline:
	}
	close(s.ops)
	s.mu.Unlock()
	select {
	case <-s.done:
	case <-deadline:
	}
}
