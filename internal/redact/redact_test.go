package redact

import (
	"strings"
	"testing"
)

func TestString(t *testing.T) {
	r := New("hunter2", "hunter22", "")
	got := r.String("pw=hunter22 and hunter2.")
	if want := "pw=*** and ***."; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	var nilR *Redactor
	if nilR.String("x") != "x" {
		t.Fatal("nil redactor must pass text through")
	}
}

func TestWriterSplitSecret(t *testing.T) {
	r := New("s3cr3t-value")
	var b strings.Builder
	w := r.Writer(&b)
	for _, part := range []string{"token: s3c", "r3t-va", "lue\nnext s3cr3t-value", " end"} {
		if _, err := w.Write([]byte(part)); err != nil {
			t.Fatal(err)
		}
	}
	if strings.Contains(b.String(), "s3cr3t") {
		t.Fatalf("secret leaked before flush: %q", b.String())
	}
	w.Close()
	if got, want := b.String(), "token: ***\nnext *** end"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestWriterNoSecretsPassesThrough(t *testing.T) {
	var b strings.Builder
	w := New().Writer(&b)
	w.Write([]byte("partial line"))
	if b.String() != "partial line" {
		t.Fatalf("without secrets nothing should be held back, got %q", b.String())
	}
}
