package check

import (
	"strings"
	"testing"
	"time"
)

// TestBackoff: the wait after attempt n starts at firstRetry and doubles
// up to the check's interval.
func TestBackoff(t *testing.T) {
	for _, tc := range []struct {
		n        int
		interval time.Duration
		want     time.Duration
	}{
		{1, time.Second, 25 * time.Millisecond},
		{2, time.Second, 50 * time.Millisecond},
		{3, time.Second, 100 * time.Millisecond},
		{6, time.Second, 800 * time.Millisecond},
		{7, time.Second, time.Second},
		{50, time.Second, time.Second},
		{1, 10 * time.Millisecond, 10 * time.Millisecond},
		{3, 60 * time.Millisecond, 60 * time.Millisecond},
	} {
		if got := backoff(tc.n, tc.interval); got != tc.want {
			t.Errorf("backoff(%d, %v) = %v, want %v", tc.n, tc.interval, got, tc.want)
		}
	}
}

// TestLastLine: the last non-empty line, after the last carriage return,
// cut at maxLine bytes (a line of exactly maxLine bytes is kept whole).
func TestLastLine(t *testing.T) {
	exact := strings.Repeat("x", maxLine)
	for in, want := range map[string]string{
		"a\nb\n\n":                 "b",
		"only":                     "only",
		"10%\r50%\r\n":             "50%",
		"first\n" + exact + "\n":   exact,
		"first\n" + exact + "yz\n": exact + "…",
		"":                         "",
	} {
		if got := lastLine(in); got != want {
			t.Errorf("lastLine(%q) = %q, want %q", in, got, want)
		}
	}
}
