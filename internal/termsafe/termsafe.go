// Package termsafe makes text safe to print on a terminal: every character
// that could control it (C0 controls other than newline and tab, DEL, C1
// controls U+0080–U+009F, bidirectional overrides, line and paragraph
// separators) and every byte that is not valid UTF-8 is written as a
// visible escape such as \x1b. Nothing printed by golive can clear the
// screen, set the window title, move the cursor or write the clipboard
// (OSC 52).
//
// The escapes are chosen so that JSON stays JSON: encoding/json never
// writes raw C0 controls or invalid UTF-8, and the characters it does
// leave raw (DEL, C1, bidi controls) become \u007f-style escapes, which
// mean the same in a JSON string. So the CLI wraps its whole stdout and
// stderr in a Writer, and nothing can be forgotten.
package termsafe

import (
	"fmt"
	"io"
	"reflect"
	"strings"
	"sync"
	"unicode/utf8"
)

// String returns s with every control character but \n and \t, and every
// invalid UTF-8 byte, escaped.
func String(s string) string {
	if safe(s) {
		return s
	}
	var b strings.Builder
	escape(&b, []byte(s), true)
	return b.String()
}

// Line is String for one line: newlines and tabs are escaped too.
func Line(s string) string {
	s = String(s)
	if !strings.ContainsAny(s, "\n\t") {
		return s
	}
	return strings.NewReplacer("\n", `\n`, "\t", `\t`).Replace(s)
}

// safe reports whether s needs no escaping (the common case, fast).
func safe(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 || (c < 0x20 && c != '\n' && c != '\t') || c == 0x7f {
			return utf8.ValidString(s) && !hasRuneToEscape(s)
		}
	}
	return true
}

func hasRuneToEscape(s string) bool {
	for _, r := range s {
		if Escaped(r) {
			return true
		}
	}
	return false
}

// Escaped reports whether r is a character String escapes: a control
// character other than \n and \t, DEL, a C1 control, a bidirectional
// formatting character or a line/paragraph separator. Printers that drop
// such characters instead (the live view) use it too.
func Escaped(r rune) bool {
	return (r < 0x20 && r != '\n' && r != '\t') || r == 0x7f || escapedRune(r)
}

// escapedRune: C1 controls, bidirectional formatting, line/paragraph
// separators.
func escapedRune(r rune) bool {
	switch {
	case r >= 0x80 && r <= 0x9f:
		return true
	case r == 0x061c, r == 0x200e, r == 0x200f, r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	case r == 0x2028, r == 0x2029:
		return true
	}
	return false
}

// escape writes p to b escaped. Unless atEOF, it stops before a trailing
// incomplete UTF-8 sequence and returns how many bytes it consumed.
func escape(b *strings.Builder, p []byte, atEOF bool) int {
	i := 0
	for i < len(p) {
		c := p[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '\n' || c == '\t' || (c >= 0x20 && c < 0x7f):
				b.WriteByte(c)
			case c == '\r':
				b.WriteString(`\r`)
			case c == 0x7f:
				b.WriteString(`\u007f`)
			default:
				fmt.Fprintf(b, `\x%02x`, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(p[i:])
		if r == utf8.RuneError && size <= 1 {
			if !atEOF && !utf8.FullRune(p[i:]) {
				return i // maybe the start of a character split across writes
			}
			fmt.Fprintf(b, `\x%02x`, c)
			i++
			continue
		}
		if escapedRune(r) {
			fmt.Fprintf(b, `\u%04x`, r)
		} else {
			b.Write(p[i : i+size])
		}
		i += size
	}
	return i
}

// Writer escapes everything written through it (see String) before
// passing it on. A UTF-8 character split across writes is kept whole. It
// is safe for concurrent use.
type Writer struct {
	mu      sync.Mutex
	w       io.Writer
	pending []byte
}

// NewWriter returns a Writer that writes to w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: w} }

// Write escapes p and writes it. It reports len(p) when the escaped text
// was written.
func (t *Writer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.pending) == 0 && plainASCII(p) {
		if _, err := t.w.Write(p); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	buf := p
	if len(t.pending) > 0 {
		buf = append(t.pending, p...)
		t.pending = nil
	}
	var b strings.Builder
	n := escape(&b, buf, false)
	if n < len(buf) {
		t.pending = append([]byte(nil), buf[n:]...)
	}
	if _, err := io.WriteString(t.w, b.String()); err != nil {
		return 0, err
	}
	return len(p), nil
}

// plainASCII reports whether p is printable ASCII, newlines and tabs only:
// nothing to escape (the common case).
func plainASCII(p []byte) bool {
	for _, c := range p {
		if (c < 0x20 && c != '\n' && c != '\t') || c >= 0x7f {
			return false
		}
	}
	return true
}

// Flush writes bytes held back as the start of an unfinished character,
// escaped.
func (t *Writer) Flush() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.flushLocked()
}

func (t *Writer) flushLocked() error {
	if len(t.pending) == 0 {
		return nil
	}
	var b strings.Builder
	escape(&b, t.pending, true)
	t.pending = nil
	_, err := io.WriteString(t.w, b.String())
	return err
}

// Raw returns a writer to the same destination that does not escape: for
// golive's own styling (colours, the live view's cursor movements) by a
// printer that cleans every value it prints (see Clean).
func (t *Writer) Raw() io.Writer { return rawWriter{t} }

type rawWriter struct{ t *Writer }

func (r rawWriter) Write(p []byte) (int, error) {
	r.t.mu.Lock()
	defer r.t.mu.Unlock()
	if err := r.t.flushLocked(); err != nil {
		return 0, err
	}
	return r.t.w.Write(p)
}

// Raw returns w's raw writer when w is a Writer, else w.
func Raw(w io.Writer) io.Writer {
	if t, ok := w.(*Writer); ok {
		return t.Raw()
	}
	return w
}

// Unwrap returns the writer a Writer (or its Raw writer) writes to, for
// questions such as "is it a terminal"; other writers are returned as they
// are.
func Unwrap(w any) any {
	switch t := w.(type) {
	case *Writer:
		return t.w
	case rawWriter:
		return t.t.w
	}
	return w
}

// Clean returns a deep copy of *v in which every exported string field,
// string element and string map value (and key) is passed through String:
// data handed to a printer that styles its output and so writes raw.
func Clean[T any](v *T) *T {
	if v == nil {
		return nil
	}
	cl := &cleaner{seen: map[seenKey]reflect.Value{}}
	return cl.clean(reflect.ValueOf(v)).Interface().(*T)
}

// cleaner copies values; a pointer seen before gets the same copy, so
// shared and cyclic structures stay so (and end).
type cleaner struct{ seen map[seenKey]reflect.Value }

type seenKey struct {
	p uintptr
	t reflect.Type
}

func (cl *cleaner) clean(v reflect.Value) reflect.Value {
	switch v.Kind() {
	case reflect.String:
		c := reflect.New(v.Type()).Elem()
		c.SetString(String(v.String()))
		return c
	case reflect.Pointer:
		if v.IsNil() {
			return v
		}
		key := seenKey{v.Pointer(), v.Type()}
		if c, ok := cl.seen[key]; ok {
			return c
		}
		c := reflect.New(v.Type().Elem())
		cl.seen[key] = c
		c.Elem().Set(cl.clean(v.Elem()))
		return c
	case reflect.Struct:
		c := reflect.New(v.Type()).Elem()
		c.Set(v)
		for i := 0; i < v.NumField(); i++ {
			if c.Field(i).CanSet() {
				c.Field(i).Set(cl.clean(v.Field(i)))
			}
		}
		return c
	case reflect.Slice:
		if v.IsNil() {
			return v
		}
		c := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		for i := 0; i < v.Len(); i++ {
			c.Index(i).Set(cl.clean(v.Index(i)))
		}
		return c
	case reflect.Array:
		c := reflect.New(v.Type()).Elem()
		for i := 0; i < v.Len(); i++ {
			c.Index(i).Set(cl.clean(v.Index(i)))
		}
		return c
	case reflect.Map:
		if v.IsNil() {
			return v
		}
		c := reflect.MakeMapWithSize(v.Type(), v.Len())
		iter := v.MapRange()
		for iter.Next() {
			c.SetMapIndex(cl.clean(iter.Key()), cl.clean(iter.Value()))
		}
		return c
	case reflect.Interface:
		if v.IsNil() {
			return v
		}
		c := reflect.New(v.Type()).Elem()
		c.Set(cl.clean(v.Elem()))
		return c
	}
	return v
}
