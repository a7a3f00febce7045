package transport

import (
	"io"
	"sync"
	"unicode/utf8"
)

// Sink passes a command's output to a writer. After the writer's first
// error it keeps accepting (and dropping) output, so the command never
// blocks on a full pipe or window, and remembers the error for Run to
// report.
type Sink struct {
	mu  sync.Mutex
	w   io.Writer
	err error
}

func (s *Sink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil {
		if _, err := s.w.Write(p); err != nil {
			s.err = err
		}
	}
	return len(p), nil
}

// Writer is what the process or session writes to: nil (discard) without
// a sink.
func (s *Sink) Writer() io.Writer {
	if s == nil {
		return nil
	}
	return s
}

// Failed returns the writer's first error.
func (s *Sink) Failed() error {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Outputs wraps a command's writers. When both are the same writer they
// share one sink, so writes are never concurrent and their order is kept.
func Outputs(stdout, stderr io.Writer) (*Sink, *Sink) {
	var o, e *Sink
	if stdout != nil {
		o = &Sink{w: stdout}
	}
	switch {
	case stderr == nil:
	case o != nil && SameWriter(stdout, stderr):
		e = o
	default:
		e = &Sink{w: stderr}
	}
	return o, e
}

// SameWriter compares two writers with ==, treating writers whose dynamic
// type is not comparable as different.
func SameWriter(a, b io.Writer) (same bool) {
	defer func() {
		if recover() != nil {
			same = false
		}
	}()
	return a == b
}

// Tail keeps the last Max bytes written to it; safe for concurrent use.
type Tail struct {
	Max int
	mu  sync.Mutex
	buf []byte
}

func (t *Tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.Max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

// String returns the kept bytes, without a character cut at the start.
func (t *Tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.buf
	for i := 0; i < utf8.UTFMax-1 && len(b) > 0 && !utf8.RuneStart(b[0]); i++ {
		b = b[1:]
	}
	return string(b)
}
