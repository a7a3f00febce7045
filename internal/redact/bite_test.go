package redact

import (
	"io"
	"strings"
	"testing"
)

// TestWriterHoldsBackAllButLastByte: a secret split one byte before its
// end (...s3cr3t-valu + e) is still caught: the writer holds back up to
// len(secret)-1 bytes, not one fewer.
func TestWriterHoldsBackAllButLastByte(t *testing.T) {
	const secret = "s3cr3t-value"
	for cut := 1; cut < len(secret); cut++ {
		r := New(secret)
		var b strings.Builder
		w := r.Writer(&b)
		w.Write([]byte("token: " + secret[:cut]))
		if strings.Contains(b.String(), secret[:cut]) {
			t.Fatalf("cut %d: %q written before the rest arrived", cut, b.String())
		}
		w.Write([]byte(secret[cut:] + " end"))
		w.Close()
		if got, want := b.String(), "token: *** end"; got != want {
			t.Fatalf("cut %d: got %q, want %q", cut, got, want)
		}
	}
}

// TestWriterReleasesWhatCannotBeASecret: bytes that cannot begin a
// secret are written at once, and a held-back prefix that turns out not to
// be the secret is written unchanged.
func TestWriterReleasesWhatCannotBeASecret(t *testing.T) {
	r := New("s3cr3t-value")
	var b strings.Builder
	w := r.Writer(&b)
	w.Write([]byte("ready; s3cr"))
	if got := b.String(); got != "ready; " {
		t.Fatalf("after a possible prefix: %q, want %q written", got, "ready; ")
	}
	w.Write([]byte("ew loose\n"))
	if got := b.String(); got != "ready; s3crew loose\n" {
		t.Fatalf("got %q, want the text unchanged", got)
	}
	if err := w.Flush(); err != nil || b.String() != "ready; s3crew loose\n" {
		t.Fatalf("after Flush: %q, %v", b.String(), err)
	}
}

// TestLongestSecretFirst: of two overlapping secrets the longer is
// replaced whole.
func TestLongestSecretFirst(t *testing.T) {
	r := New("abc", "abcdef")
	r.Add("abc") // a duplicate changes nothing
	if got := r.String("x abcdef y abc"); got != "x *** y ***" {
		t.Fatalf("got %q", got)
	}
}

// TestWriterIsAnIOWriter: Write reports every byte written (io.Copy
// through it works), and Close writes what was held back.
func TestWriterIsAnIOWriter(t *testing.T) {
	r := New("s3cr3t-value")
	var b strings.Builder
	w := r.Writer(&b)
	p := []byte("ready; s3cr")
	if n, err := w.Write(p); n != len(p) || err != nil {
		t.Fatalf("Write = %d, %v; want %d, nil", n, err, len(p))
	}
	if n, err := io.Copy(w, strings.NewReader("3t-value done; s3c")); n != 18 || err != nil {
		t.Fatalf("io.Copy = %d, %v", n, err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got, want := b.String(), "ready; *** done; s3c"; got != want {
		t.Fatalf("got %q, want %q (the held-back s3c written at Close)", got, want)
	}
}
