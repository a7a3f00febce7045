package ssh

import (
	"bytes"
	"io"
	"sync"
)

// framer splits one output stream of a pipelined session into the
// output of its commands. The loop on the target ends each command's
// output with delim + trailer + "\n", where delim is the session's nonce
// and a space: the bytes before the boundary are the command's, the trailer tells which command ended (and
// how). The nonce is random per session and travels on the session's
// standard input only, so a command cannot print a boundary.
type framer struct {
	delim []byte // nonce + " "

	mu sync.Mutex
	w  io.Writer // where the current command's output goes; nil drops it

	ends chan string // one trailer per boundary, in order

	// Write's state (one writer at a time: the copy of the stream).
	pending   []byte // bytes not passed on yet: a trailer, or what may start a boundary
	inTrailer bool
}

func newFramer(nonce string) *framer {
	return &framer{delim: []byte(nonce + " "), ends: make(chan string, 4)}
}

// setWriter directs the output that follows to w.
func (f *framer) setWriter(w io.Writer) {
	f.mu.Lock()
	f.w = w
	f.mu.Unlock()
}

func (f *framer) emit(p []byte) {
	if len(p) == 0 {
		return
	}
	f.mu.Lock()
	w := f.w
	f.mu.Unlock()
	if w != nil {
		w.Write(p)
	}
}

// copy reads r to its end through f (Write, then end). Memory stays
// bounded: at most one read's worth of bytes and a trailer line are held
// back.
func (f *framer) copy(r io.Reader) {
	io.CopyBuffer(f, onlyReader{r}, make([]byte, outputBufferSize))
	f.end()
}

// Write takes the next bytes of the stream: output is passed on, and
// each trailer is sent on f.ends. A pipelined session's output is copied
// straight into its framers (no pipe, no copy of its own in between).
func (f *framer) Write(p []byte) (int, error) {
	f.pending = append(f.pending, p...)
	for {
		if f.inTrailer {
			nl := bytes.IndexByte(f.pending, '\n')
			if nl < 0 {
				if len(f.pending) > 256 { // not a trailer of ours: cannot happen
					f.pending = f.pending[:0]
				}
				break
			}
			// Output after a boundary belongs to no command until the
			// session sets the next command's writer.
			f.setWriter(nil)
			f.ends <- string(f.pending[:nl])
			f.pending = f.pending[nl+1:]
			f.inTrailer = false
			continue
		}
		i := bytes.Index(f.pending, f.delim)
		if i >= 0 {
			f.emit(f.pending[:i])
			f.pending = f.pending[i+len(f.delim):]
			f.inTrailer = true
			continue
		}
		keep := partialSuffix(f.pending, f.delim)
		f.emit(f.pending[:len(f.pending)-keep])
		f.pending = append(f.pending[:0], f.pending[len(f.pending)-keep:]...)
		break
	}
	if cap(f.pending) > 2*len(f.delim)+512 && len(f.pending) < len(f.delim) {
		f.pending = append([]byte(nil), f.pending...) // do not keep a big read's buffer
	}
	return len(p), nil
}

// end passes on what was held back and closes f.ends: the stream ended.
func (f *framer) end() {
	f.emit(f.pending)
	f.pending = nil
	close(f.ends)
}

// partialSuffix is the length of the longest suffix of b that is a proper
// prefix of delim.
func partialSuffix(b, delim []byte) int {
	n := min(len(b), len(delim)-1)
	for ; n > 0; n-- {
		if bytes.HasSuffix(b, delim[:n]) {
			return n
		}
	}
	return 0
}

// markWriter passes a command's standard error on, taking out the line
// "TAG PID PGID" (or "TAG nodir") that the child shell writes before the
// command starts. Lines before it pass through.
type markWriter struct {
	mu     sync.Mutex
	prefix []byte
	w      io.Writer
	line   []byte
	found  bool
	mark   marker
	once   sync.Once
	marked chan struct{} // closed once the marker was read, or the command ended
}

func newMarkWriter(tag string, w io.Writer) *markWriter {
	return &markWriter{prefix: []byte(tag + " "), w: w, marked: make(chan struct{})}
}

func (m *markWriter) pass(p []byte) {
	if m.w != nil && len(p) > 0 {
		m.w.Write(p)
	}
}

func (m *markWriter) Write(p []byte) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := len(p)
	if m.found {
		m.pass(p)
		return n, nil
	}
	m.line = append(m.line, p...)
	for !m.found {
		nl := bytes.IndexByte(m.line, '\n')
		if nl < 0 {
			if len(m.line) > 4096 {
				m.pass(m.line)
				m.line = m.line[:0]
			}
			return n, nil
		}
		line := m.line[:nl+1]
		if bytes.HasPrefix(line, m.prefix) {
			m.mark = parseMarker(line[len(m.prefix):])
			m.found = true
			m.once.Do(func() { close(m.marked) })
		} else {
			m.pass(line)
		}
		m.line = m.line[nl+1:]
	}
	m.pass(m.line)
	m.line = nil
	return n, nil
}

// finish passes on a partial line held back and closes marked; call it
// once the command's output has ended.
func (m *markWriter) finish() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.found {
		m.pass(m.line)
		m.line = nil
	}
	m.once.Do(func() { close(m.marked) })
}

// marker returns the marker once it has been read (and the zero marker
// before).
func (m *markWriter) marker() marker {
	select {
	case <-m.marked:
		return m.mark
	default:
		return marker{}
	}
}
