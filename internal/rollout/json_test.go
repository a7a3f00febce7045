package rollout

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestDurationText(t *testing.T) {
	for d, want := range map[time.Duration]string{
		10 * time.Second: "10s", 5 * time.Minute: "5m", time.Hour: "1h", 90 * time.Minute: "1h30m",
		200 * time.Millisecond: "200ms", 90 * time.Second: "1m30s", 0: "0s",
	} {
		if got := DurationText(d); got != want {
			t.Errorf("DurationText(%v) = %q, want %q", d, got, want)
		}
	}
}

// TestJSONDurations: plan --json writes durations as the plan does, never
// as nanoseconds.
func TestJSONDurations(t *testing.T) {
	r := &Rollout{
		Stages: []*Stage{{Name: "web", Pause: 5 * time.Minute, Batches: []*Batch{{Hosts: []*Host{{
			Steps:  []*Step{{Name: "s", Timeout: 10 * time.Minute}},
			Health: []*Check{{Name: "h", Timeout: 30 * time.Second, Interval: 200 * time.Millisecond}},
		}}}}}},
		Monitors: []*Monitor{{Name: "m", Interval: 10 * time.Second}},
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, want := range []string{`"pause":"5m"`, `"timeout":"10m"`, `"timeout":"30s"`, `"interval":"200ms"`, `"interval":"10s"`} {
		if !strings.Contains(s, want) {
			t.Errorf("JSON lacks %s:\n%s", want, s)
		}
	}
	if strings.Contains(s, "_ns") {
		t.Errorf("JSON has nanoseconds:\n%s", s)
	}
}
