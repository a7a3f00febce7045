package window

import (
	"strings"
	"testing"
	"time"
)

// TestValidateBounds: the edges of what Validate accepts: to 00:00 (until
// midnight), Sunday and Saturday are valid; a day before Sunday or after
// Saturday is not.
func TestValidateBounds(t *testing.T) {
	good := &Window{Open: []Range{
		{Days: []time.Weekday{time.Sunday, time.Saturday}, From: hm(22, 0), To: 0},
		{Days: []time.Weekday{time.Monday}, From: hm(23, 59), To: EndOfDay},
	}}
	if err := good.Validate(); err != nil {
		t.Fatalf("Validate of a window at the edges = %v", err)
	}
	for _, d := range []time.Weekday{-1, 7} {
		bad := &Window{Open: []Range{{Days: []time.Weekday{d}, From: 0, To: hm(1, 0)}}}
		if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "not a weekday") {
			t.Errorf("Validate of day %d = %v, want not a weekday", d, err)
		}
	}
	neg := &Window{Open: []Range{{From: -1, To: -1}}}
	if err := neg.Validate(); err == nil || !strings.Contains(err.Error(), "from") || !strings.Contains(err.Error(), "to") {
		t.Errorf("Validate of negative clocks = %v, want both named", err)
	}
}

// TestNextOpenWithinHorizon: a window that opens again just inside the
// Horizon (a freeze of 731 days) is found; one beyond it is not.
func TestNextOpenWithinHorizon(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	end := t0.Add(Horizon - 24*time.Hour)
	w := &Window{Freezes: []Freeze{{From: t0.Add(-time.Hour), To: end, Reason: "long"}}}
	if at, ok := w.NextOpen(t0); !ok || !at.Equal(end) {
		t.Fatalf("NextOpen = %v, %v; want %v (inside the horizon)", at, ok, end)
	}
	w.Freezes[0].To = t0.Add(Horizon + 30*24*time.Hour)
	if at, ok := w.NextOpen(t0); ok {
		t.Fatalf("NextOpen = %v beyond the horizon, want false", at)
	}
}
