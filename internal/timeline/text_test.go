package timeline

import (
	"testing"
	"time"
)

func TestTickLabels(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "0", 200 * time.Millisecond: "200ms", 1500 * time.Millisecond: "1.5s", 30 * time.Second: "30s",
		time.Minute: "1m", 90 * time.Second: "1m30s", 2 * time.Hour: "2h", 150 * time.Minute: "2h30m",
	} {
		if got := tickLabel(d); got != want {
			t.Errorf("tickLabel(%s) = %q, want %q", d, got, want)
		}
	}
}

// Ticks are far enough apart to read, and not much farther.
func TestTickStep(t *testing.T) {
	for _, span := range []time.Duration{300 * time.Millisecond, 6 * time.Second, 47 * time.Second, 25 * time.Minute, 5 * time.Hour, 30 * 24 * time.Hour} {
		step := tickStep(span, 600, 80)
		px := float64(step) / float64(span) * 600
		if px < 80 || (px > 400 && step != tickSteps[0]) {
			t.Errorf("span %s: step %s is %.0fpx apart", span, step, px)
		}
	}
}

func TestDur(t *testing.T) {
	for d, want := range map[time.Duration]string{
		250 * time.Millisecond: "250ms", 1500 * time.Millisecond: "1.5s", 2 * time.Second: "2s", 42 * time.Second: "42s",
		125 * time.Second: "2m05s", 62 * time.Minute: "1h02m",
	} {
		if got := dur(d); got != want {
			t.Errorf("dur(%s) = %q, want %q", d, got, want)
		}
	}
}

func TestClip(t *testing.T) {
	if got := clip("web-server-001", 8); got != "web-ser…" {
		t.Errorf("clip = %q", got)
	}
	if got := clip("héllo", 5); got != "héllo" {
		t.Errorf("clip = %q", got)
	}
	if got := clip("a\x1bb", 10); got != `a\x1bb` {
		t.Errorf("clip = %q", got)
	}
}

// Colour is never the only signal: in each lane, outcomes differ in mark
// and in pattern too.
func TestLooksDiffer(t *testing.T) {
	lanes := [][]outcome{{ok, failed, retried, terminated, skipped, running}, {backedOut, backoutFailed, notBackedOut, ok, running}}
	for _, lane := range lanes {
		marks, patterns := map[string]outcome{}, map[string]outcome{}
		for _, o := range lane {
			l := looks[o]
			if prev, dup := marks[l.mark]; dup {
				t.Errorf("%s and %s share mark %s", outcomeNames[prev], outcomeNames[o], l.mark)
			}
			marks[l.mark] = o
			p := l.pattern
			if o == skipped || o == notBackedOut || o == ok {
				p += l.fill // solid fills told apart by their lightness too
			}
			if prev, dup := patterns[p]; dup {
				t.Errorf("%s and %s share pattern %q", outcomeNames[prev], outcomeNames[o], p)
			}
			patterns[p] = o
		}
	}
}
