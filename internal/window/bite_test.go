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
