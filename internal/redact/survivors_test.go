package redact

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// Tests written against mutants that survived the suite (issue 16): each
// fails on the bug named in its comment.

// TestValues: Values returns every secret added (callers mask text with
// it), and a nil Redactor has none.
func TestValues(t *testing.T) {
	var none *Redactor
	if v := none.Values(); v != nil {
		t.Fatalf("nil Redactor: Values = %q", v)
	}
	got := New("alpha-secret", "beta-secret").Values()
	slices.Sort(got)
	if want := []string{"alpha-secret", "beta-secret"}; !slices.Equal(got, want) {
		t.Fatalf("Values = %q, want %q", got, want)
	}
}

// TestJSONFormWithoutHTMLEscapes: a secret encoded by a JSON encoder that
// does not escape HTML (<, &) but does escape a control character is a
// form of its own (neither Go's quoting nor HTML-safe JSON) and is hidden.
func TestJSONFormWithoutHTMLEscapes(t *testing.T) {
	r := New("pa<ss\x01word")
	text := `{"password":"pa<ss\u0001word"}`
	if got, want := r.String(text), `{"password":"***"}`; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// TestShortestHiddenLine: a line of a multi-line secret exactly minLine
// bytes long is hidden on its own; a shorter one is not.
func TestShortestHiddenLine(t *testing.T) {
	six, five := "abcdef", "vwxyz"
	if len(six) != minLine {
		t.Fatalf("test assumes minLine = %d", len(six))
	}
	r := New(six + "\n" + five + "\n0123456789")
	if got, want := r.String("a "+six+" b "+five), "a *** b "+five; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// TestWriterWritesWholeSecretAtOnce: a secret that ends a write is
// replaced and written at once, not held back until the next write: only
// a proper prefix of a secret can still become one.
func TestWriterWritesWholeSecretAtOnce(t *testing.T) {
	for _, text := range []string{"password s3cr3t-value", "password s3cr3t-value."} {
		var b strings.Builder
		w := New("s3cr3t-value").Writer(&b)
		if _, err := w.Write([]byte(text)); err != nil {
			t.Fatal(err)
		}
		if got, want := b.String(), strings.Replace(text, "s3cr3t-value", Mask, 1); got != want {
			t.Fatalf("after Write(%q): %q written, want %q", text, got, want)
		}
	}
}

// TestWriterWithoutSecrets: with no secret known, Write reports every byte
// written and passes on the underlying writer's error.
func TestWriterWithoutSecrets(t *testing.T) {
	var b strings.Builder
	w := New().Writer(&b)
	if n, err := w.Write([]byte("plain")); n != 5 || err != nil || b.String() != "plain" {
		t.Fatalf("Write = %d, %v (wrote %q); want 5, nil", n, err, b.String())
	}
	boom := errors.New("disk full")
	w = New().Writer(failWriter{boom})
	if n, err := w.Write([]byte("plain")); n != 0 || !errors.Is(err, boom) {
		t.Fatalf("Write to a failing writer = %d, %v; want 0, %v", n, err, boom)
	}
}

type failWriter struct{ err error }

func (f failWriter) Write([]byte) (int, error) { return 0, f.err }
