// Package redact hides secret values in everything golive writes: terminal
// output, logs, the journal, webhooks, reports. Every writer of text goes
// through one Redactor, so a secret is replaced by *** once, centrally.
//
// Redaction works on values, before they are encoded: text is redacted
// first and cut, quoted or escaped afterwards. As a second line of defence
// a Redactor also knows the forms a secret takes once it has been encoded
// anyway (JSON and Go string escapes, URL escapes) and, for a secret of
// several lines, each of its lines on its own (a PEM key re-indented in a
// YAML or Markdown block).
package redact

import (
	"bytes"
	"cmp"
	"encoding/json"
	"io"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Mask is what a secret is replaced with.
const Mask = "***"

// minLine is the shortest line of a multi-line secret that is hidden on its
// own; shorter lines (a lone brace) would hide ordinary text.
const minLine = 6

// Redactor replaces known secret values. It is safe for concurrent use.
type Redactor struct {
	mu       sync.RWMutex
	secrets  map[string]bool // as added
	patterns [][]byte        // every form hidden, longest first
}

// New returns a Redactor for the given secret values.
func New(secrets ...string) *Redactor {
	r := &Redactor{}
	for _, s := range secrets {
		r.Add(s)
	}
	return r
}

// Add registers a secret value. Empty values are ignored.
func (r *Redactor) Add(secret string) {
	if r == nil || secret == "" {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.secrets[secret] {
		return
	}
	if r.secrets == nil {
		r.secrets = map[string]bool{}
	}
	r.secrets[secret] = true
	have := map[string]bool{}
	for _, p := range r.patterns {
		have[string(p)] = true
	}
	// A new slice: Writers and String read the old one without the lock.
	patterns := append([][]byte(nil), r.patterns...)
	for _, p := range forms(secret) {
		if p != "" && !have[p] {
			have[p] = true
			patterns = append(patterns, []byte(p))
		}
	}
	r.patterns = patterns
	slices.SortStableFunc(r.patterns, func(a, b []byte) int { return cmp.Compare(len(b), len(a)) })
}

// Values returns the secrets added, in no particular order. Callers use it
// to render text for display with every secret replaced (see Mask).
func (r *Redactor) Values() []string {
	if r == nil {
		return nil
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]string, 0, len(r.secrets))
	for s := range r.secrets {
		out = append(out, s)
	}
	return out
}

// forms are the texts that betray secret: itself, its escaped forms, and
// the lines of a multi-line secret.
func forms(secret string) []string {
	out := []string{secret}
	add := func(s string) {
		if s != secret {
			out = append(out, s)
		}
	}
	if b, err := json.Marshal(secret); err == nil { // HTML-safe: \u003c \u0026
		add(string(b[1 : len(b)-1]))
	}
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if enc.Encode(secret) == nil {
		s := strings.TrimSuffix(b.String(), "\n")
		add(s[1 : len(s)-1])
	}
	q := strconv.Quote(secret)
	add(q[1 : len(q)-1])
	add(url.QueryEscape(secret))
	add(url.PathEscape(secret))
	if strings.ContainsAny(secret, "\r\n") {
		for _, line := range strings.FieldsFunc(secret, func(r rune) bool { return r == '\n' || r == '\r' }) {
			if line = strings.TrimSpace(line); len(line) >= minLine {
				out = append(out, line)
			}
		}
	}
	return out
}

// String returns s with every secret replaced by Mask.
func (r *Redactor) String(s string) string {
	if r == nil {
		return s
	}
	r.mu.RLock()
	patterns := r.patterns
	r.mu.RUnlock()
	if len(patterns) == 0 {
		return s
	}
	b := []byte(s)
	out, _, replaced := replace(nil, b, patterns, len(b))
	if !replaced {
		return s
	}
	return string(out)
}

// replace appends to dst the text of s up to limit with the
// leftmost-longest occurrences of patterns (sorted longest first) that
// start before limit replaced by Mask. A match that starts before limit
// and ends after it is replaced whole. It returns dst, the position in s
// up to which it decided (limit, or the end of such a match), and whether
// it replaced anything.
func replace(dst, s []byte, patterns [][]byte, limit int) ([]byte, int, bool) {
	pos, replaced := 0, false
	next := make([]int, len(patterns)) // next occurrence of each at or after pos; -1 none
	for i, p := range patterns {
		next[i] = index(s, p, 0)
	}
	for pos < limit {
		best, at := 0, len(s) // at stays len(s), past limit, when nothing matches
		for i, p := range patterns {
			if next[i] >= 0 && next[i] < pos {
				next[i] = index(s, p, pos)
			}
			if n := next[i]; n >= 0 && n < at { // longest first: ties keep the longer
				best, at = i, n
			}
		}
		if at >= limit {
			dst = append(dst, s[pos:limit]...)
			return dst, limit, replaced
		}
		dst = append(dst, s[pos:at]...)
		dst = append(dst, Mask...)
		pos, replaced = at+len(patterns[best]), true
	}
	return dst, pos, replaced
}

// index is the first occurrence of p in s at or after from (at most
// len(s)), or -1.
func index(s, p []byte, from int) int {
	i := bytes.Index(s[from:], p)
	if i < 0 {
		return -1
	}
	return from + i
}

// held returns how many trailing bytes of s are a proper prefix of some
// pattern: those may still become a secret with the next write.
func held(s []byte, patterns [][]byte) int {
	hold := 0
	for _, p := range patterns {
		start := max(0, len(s)-(len(p)-1))
		for i := start; i < len(s)-hold; i++ {
			if s[i] == p[0] && bytes.HasPrefix(p, s[i:]) {
				hold = len(s) - i
				break
			}
		}
	}
	return hold
}

// Writer returns a writer that redacts what passes through it to w. It
// holds back exactly the trailing bytes that could still begin a secret,
// so a secret split across writes is still caught; Flush (or Close)
// writes them.
func (r *Redactor) Writer(w io.Writer) *Writer { return &Writer{r: r, w: w} }

// Writer is a redacting io.WriteCloser.
type Writer struct {
	mu  sync.Mutex
	r   *Redactor
	w   io.Writer
	buf []byte // raw bytes not yet written
	out []byte // scratch for the redacted text
}

// Write redacts and forwards p. It reports len(p) written on success.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.r == nil {
		return w.w.Write(p)
	}
	w.r.mu.RLock()
	patterns := w.r.patterns
	w.r.mu.RUnlock()
	if len(patterns) == 0 { // then nothing is held back either: patterns never shrink
		if _, err := w.w.Write(p); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	w.buf = append(w.buf, p...)
	s, out := w.buf, w.out[:0]
	for {
		// A match that starts before the held-back tail is complete: a
		// longer secret starting there would have made the tail longer.
		// A match that runs into the tail leaves a rest to look at again.
		limit := len(s) - held(s, patterns)
		var done int
		out, done, _ = replace(out, s, patterns, limit)
		s = s[done:]
		if done <= limit {
			break
		}
	}
	w.buf = w.buf[:copy(w.buf, s)]
	w.out = out
	if _, err := w.w.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Flush writes what is held back.
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) == 0 {
		return nil
	}
	out := w.r.String(string(w.buf))
	w.buf = w.buf[:0]
	_, err := io.WriteString(w.w, out)
	return err
}

// Close flushes.
func (w *Writer) Close() error { return w.Flush() }

// Unwrap returns the writer w writes to (to ask whether it is a terminal).
func (w *Writer) Unwrap() io.Writer { return w.w }
