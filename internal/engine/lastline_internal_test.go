package engine

import (
	"strings"
	"testing"
)

// TestLastLineCutAfter200: a step's last output line is shown whole up to
// 200 bytes, and cut with "..." when longer.
func TestLastLineCutAfter200(t *testing.T) {
	l200 := strings.Repeat("x", 200)
	for out, want := range map[string]string{
		"first\n" + l200 + "\n\n": ": " + l200,
		l200 + "y":                ": " + l200 + "...",
		"\n \n":                   "",
	} {
		if got := lastLine(out); got != want {
			t.Errorf("lastLine(%.20q...) = %.30q..., want %.30q...", out, got, want)
		}
	}
}
