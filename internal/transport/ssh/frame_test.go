package ssh

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// The framer splits a stream at the boundaries, whatever the reads' sizes,
// and passes on text that only looks like a boundary.
func TestFramerSplitsAtBoundaries(t *testing.T) {
	const nonce = "0123456789abcdef"
	stream := "one\n" + nonce + " 1 0\n" +
		"no newline at end" + nonce + " 2 3\n" +
		"\n0123456789abcdeX 9 9\n" + nonce + "-not\n" + nonce + " 3 0\n" +
		"" + nonce + " 4 1\n" + "left"
	for _, name := range []string{"whole", "byte by byte"} {
		t.Run(name, func(t *testing.T) {
			var r io.Reader = strings.NewReader(stream)
			if name != "whole" {
				r = iotest.OneByteReader(r)
			}
			f := newFramer(nonce)
			done := make(chan []string)
			go func() {
				var ends []string
				for e := range f.ends {
					ends = append(ends, e)
				}
				done <- ends
			}()
			f.copy(r)
			ends := <-done
			want := []string{"1 0", "2 3", "3 0", "4 1"}
			if strings.Join(ends, "|") != strings.Join(want, "|") {
				t.Fatalf("trailers %q, want %q", ends, want)
			}
		})
	}
}

// Each command's output is exactly what it printed, when the writer is
// switched as the engine does it: after each trailer, before sending the
// next command.
func TestFramerOutputs(t *testing.T) {
	const nonce = "fedcba9876543210"
	parts := []string{"one\n", "two, no newline", "\n" + nonce + "-looks-like\n", ""}
	pr, pw := io.Pipe()
	f := newFramer(nonce)
	go f.copy(pr)
	for i, p := range parts {
		var out bytes.Buffer
		f.setWriter(&out)
		go io.WriteString(pw, p+nonce+" "+string(rune('1'+i))+" 0\n")
		end := <-f.ends
		if want := string(rune('1'+i)) + " 0"; end != want {
			t.Fatalf("command %d: trailer %q, want %q", i+1, end, want)
		}
		if out.String() != p {
			t.Errorf("command %d: output %q, want %q", i+1, out.String(), p)
		}
	}
	pw.Close()
}
