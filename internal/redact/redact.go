// Package redact hides secret values in everything golive writes: terminal
// output, logs, the journal. Every writer of text goes through one
// Redactor, so a secret is replaced by *** once, centrally.
package redact

import (
	"io"
	"sort"
	"strings"
	"sync"
)

// Mask is what a secret is replaced with.
const Mask = "***"

// Redactor replaces known secret values. It is safe for concurrent use.
type Redactor struct {
	mu      sync.RWMutex
	secrets []string // longest first
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
	for _, s := range r.secrets {
		if s == secret {
			return
		}
	}
	r.secrets = append(r.secrets, secret)
	sort.Slice(r.secrets, func(i, j int) bool { return len(r.secrets[i]) > len(r.secrets[j]) })
}

// String returns s with every secret replaced by Mask.
func (r *Redactor) String(s string) string {
	if r == nil {
		return s
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, secret := range r.secrets {
		s = strings.ReplaceAll(s, secret, Mask)
	}
	return s
}

// heldBack returns how many trailing bytes of s could begin a secret.
func (r *Redactor) heldBack(s string) int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	hold := 0
	for _, secret := range r.secrets {
		for l := min(len(secret)-1, len(s)); l > hold; l-- {
			if strings.HasSuffix(s, secret[:l]) {
				hold = l
				break
			}
		}
	}
	return hold
}

// Writer returns a writer that redacts what passes through it to w. It
// holds back trailing bytes that could begin a secret, so a secret split
// across writes is still caught; Flush (or Close) writes them.
func (r *Redactor) Writer(w io.Writer) *Writer { return &Writer{r: r, w: w} }

// Writer is a redacting io.WriteCloser.
type Writer struct {
	mu  sync.Mutex
	r   *Redactor
	w   io.Writer
	buf []byte
}

// Write redacts and forwards p. It reports len(p) written on success.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	out := w.r.String(string(w.buf))
	hold := w.r.heldBack(out)
	w.buf = append(w.buf[:0], out[len(out)-hold:]...)
	if _, err := io.WriteString(w.w, out[:len(out)-hold]); err != nil {
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
