package rollout

import (
	"encoding/json"
	"strings"
	"time"
)

// The rollout's JSON (golive plan --json) writes durations as the plan
// does: "10s", "5m", "1h30m", "200ms" — one JSON style for every --json.

// DurationText writes d as a plan would: time.Duration's text without
// the zero units it appends ("5m", not "5m0s"; "1h", not "1h0m0s").
func DurationText(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// MarshalJSON writes the step with its timeout as text.
func (s Step) MarshalJSON() ([]byte, error) {
	type plain Step
	return json.Marshal(struct {
		plain
		NS      *int   `json:"timeout_ns,omitempty"` // hides the nanoseconds
		Timeout string `json:"timeout"`
	}{plain: plain(s), Timeout: DurationText(s.Timeout)})
}

// MarshalJSON writes the check with its timeout and interval as text.
func (c Check) MarshalJSON() ([]byte, error) {
	type plain Check
	return json.Marshal(struct {
		plain
		NS1      *int   `json:"timeout_ns,omitempty"` // hide the nanoseconds
		NS2      *int   `json:"interval_ns,omitempty"`
		Timeout  string `json:"timeout"`
		Interval string `json:"interval"`
	}{plain: plain(c), Timeout: DurationText(c.Timeout), Interval: DurationText(c.Interval)})
}

// MarshalJSON writes the monitor with its interval as text.
func (m Monitor) MarshalJSON() ([]byte, error) {
	type plain Monitor
	return json.Marshal(struct {
		plain
		NS       *int   `json:"interval_ns,omitempty"` // hides the nanoseconds
		Interval string `json:"interval"`
	}{plain: plain(m), Interval: DurationText(m.Interval)})
}

// MarshalJSON writes the stage with its pause as text (none: left out).
func (s Stage) MarshalJSON() ([]byte, error) {
	type plain Stage
	out := struct {
		plain
		NS    *int   `json:"pause_ns,omitempty"` // hides the nanoseconds
		Pause string `json:"pause,omitempty"`
	}{plain: plain(s)}
	if s.Pause > 0 {
		out.Pause = DurationText(s.Pause)
	}
	return json.Marshal(out)
}
