package server_test

import (
	"strings"
	"testing"
	"time"
)

// TestWindowOpensWaitingRun: a run created while a freeze holds is
// waiting; when the freeze ends (the next whole minute: this test waits
// up to two), the server starts it without anyone calling resume.
func TestWindowOpensWaitingRun(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the next minute")
	}
	now := time.Now().UTC()
	end := now.Truncate(time.Minute).Add(time.Minute)
	if end.Sub(now) < 15*time.Second {
		end = end.Add(time.Minute) // time enough to create the run while frozen
	}
	plan := strings.Replace(otherPlan, "stages:", `window:
  timezone: UTC
  freeze:
    - {from: "`+now.Add(-time.Hour).Format("2006-01-02T15:04")+`", to: "`+end.Format("2006-01-02T15:04")+`", reason: test freeze}
stages:`, 1)
	e := newEnv(t, map[string]string{"other": plan})
	s := e.serve("--tokens", e.tokens, "--waiting-every", "500ms", e.dir)
	run := s.must(201, "POST", "/api/v1/runs", "root", map[string]any{"plan": "other", "release": "1.0"})
	if run.str("state") != "waiting" || !strings.Contains(run.str("reason"), "freeze") {
		t.Fatalf("want a run waiting for the freeze to end: %s", run.Raw)
	}
	time.Sleep(time.Until(end) - 2*time.Second)
	if a := s.must(200, "GET", "/api/v1/runs/"+run.str("id"), "vera", nil); a.str("state") != "waiting" {
		t.Fatalf("started before the freeze ended: %s", a.Raw)
	}
	done := s.waitState(run.str("id"), "succeeded")
	if started, _ := time.Parse(time.RFC3339Nano, done.str("started")); started.Before(end) {
		t.Errorf("started %s, before the freeze ended at %s", started, end)
	}
}
