package redact

import (
	"math/rand/v2"
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

// Streaming gives exactly what redacting the whole text at once gives,
// however the text is split into writes, and never holds back more than
// could still begin a secret.
func TestWriterMatchesString(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := "ab\n*x"
	randText := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		return string(b)
	}
	for round := 0; round < 3000; round++ {
		var secrets []string
		for range 1 + rng.IntN(3) {
			secrets = append(secrets, randText(1+rng.IntN(6)))
		}
		r := New(secrets...)
		text := randText(rng.IntN(60))
		var b strings.Builder
		w := r.Writer(&b)
		for rest := text; rest != ""; {
			n := 1 + rng.IntN(len(rest))
			w.Write([]byte(rest[:n]))
			rest = rest[n:]
			if got := len(w.buf); got != held(w.buf, r.patterns) {
				t.Fatalf("secrets %q, text %q: holds back %q, more than could begin a secret", secrets, text, w.buf)
			}
		}
		w.Flush()
		if want := r.String(text); b.String() != want {
			t.Fatalf("secrets %q, text %q: streamed %q, String %q", secrets, text, b.String(), want)
		}
	}
}

// The forms a secret takes when it is escaped are hidden too, and the
// lines of a multi-line secret on their own.
func TestEncodedForms(t *testing.T) {
	pem := "-----BEGIN KEY-----\nMIIEvQIBADANBgkqhkiG9w0B\nAQEFAASCBKcwggSjAgEAAoIB\n-----END KEY-----"
	r := New(`p"&<>\ss`, pem)
	for _, text := range []string{
		`{"token":"p\"\u0026\u003c\u003e\\ss"}`,
		`{"token":"p\"&<>\\ss"}`,
		`url "https://x/?t=p%22%26%3C%3E%5Css"`,
		"key: |\n    MIIEvQIBADANBgkqhkiG9w0B\n    AQEFAASCBKcwggSjAgEAAoIB\n",
		`"-----BEGIN KEY-----\nMIIEvQIBADANBgkqhkiG9w0B\nAQEFAASCBKcwggSjAgEAAoIB\n-----END KEY-----"`,
	} {
		got := r.String(text)
		for _, piece := range []string{"ss", "MIIEvQ", "AQEFAA", "BEGIN KEY"} {
			if strings.Contains(got, piece) {
				t.Errorf("%q -> %q: still holds %q", text, got, piece)
			}
		}
	}
}

// A secret longer than any buffer a caller keeps is still caught whole
// when it is written a byte at a time.
func TestWriterLongSecretByteByByte(t *testing.T) {
	secret := strings.Repeat("0123456789abcdef", 700) // 11 KiB
	r := New(secret)
	var b strings.Builder
	w := r.Writer(&b)
	text := "before " + secret + " after " + secret[:100]
	for i := 0; i < len(text); i++ {
		w.Write([]byte{text[i]})
	}
	w.Close()
	if got, want := b.String(), "before *** after "+secret[:100]; got != want {
		t.Fatalf("got %d bytes %.40q..., want %.40q...", len(got), got, want)
	}
}
