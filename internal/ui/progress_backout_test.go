package ui

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/golive-dev/golive/internal/clock"
	"github.com/golive-dev/golive/internal/store"
)

// backoutVerifyScript: web-1 and web-2 are backed out; 1.4.1 answers its
// health check on web-1 but not on web-2.
func backoutVerifyScript() []step {
	msg := func(e store.Event, m string) store.Event { e.Message = m; return e }
	failed := msg(ev(store.KindCheck, store.ActionFailed, "web", 0, "web-2", "serves"), "GET http://web-2/health: connection refused")
	failed.Output = "curl: (7) refused"
	return []step{
		{0, ev(store.KindState, "backing_out", "", 0, "", "")},
		{0, ev(store.KindHost, store.ActionBackedOut, "web", 0, "web-1", "")},
		{0, ev(store.KindHost, store.ActionBackedOut, "web", 0, "web-2", "")},
		{0, msg(ev(store.KindCheck, store.ActionStarted, "web", 0, "web-1", "serves"), "release 1.4.1, after the backout")},
		{time.Second, ev(store.KindCheck, store.ActionPassed, "web", 0, "web-1", "serves")},
		{0, msg(ev(store.KindHost, "backout_verified", "web", 0, "web-1", ""), "verified healthy at 1.4.1")},
		{0, ev(store.KindCheck, store.ActionStarted, "web", 0, "web-2", "serves")},
		{time.Second, failed},
		{0, msg(ev(store.KindHost, "backout_unhealthy", "web", 0, "web-2", ""), "NOT healthy at 1.4.1: check \"serves\" on web-2: connection refused")},
	}
}

func TestProgressBackoutVerified(t *testing.T) {
	for _, tty := range []bool{false, true} {
		c := clock.NewFake(t0)
		var out bytes.Buffer
		p := NewProgress(&out, testRollout(), "r-1", ProgressOptions{Clock: c, TTY: tty, Width: 200, Height: 60})
		play(p, c, backoutVerifyScript())
		if tty {
			// The live view's rows: each host says how its backout ended.
			frame := stripANSI(strings.Join(p.frame(c.Now()), "\n"))
			for _, w := range []string{"web-1", "backed out, verified healthy at 1.4.1"} {
				if !strings.Contains(lineOf(frame, "web-1"), w) {
					t.Errorf("live view: web-1's row lacks %q:\n%s", w, frame)
				}
			}
			if !strings.Contains(lineOf(frame, "web-2"), "backed out, NOT healthy at 1.4.1") {
				t.Errorf("live view: web-2's row does not say 1.4.1 is not healthy:\n%s", frame)
			}
		}
		p.Close()
		got := stripANSI(out.String())
		if !tty {
			for _, w := range []string{`web-1 +host backed out, verified healthy at 1\.4\.1\n`, `web-2 +host backed out, NOT healthy at 1\.4\.1: check "serves"`, `web-1 +serves +check passed`} {
				if !regexp.MustCompile(w).MatchString(got) {
					t.Errorf("line view lacks %q:\n%s", w, got)
				}
			}
		}
		_, fails, _ := strings.Cut(got, "\nFailures\n")
		if !strings.Contains(fails, "web / web-2  health check serves after the backout") || !strings.Contains(fails, "curl: (7) refused") {
			t.Errorf("tty=%v: the failures section does not show web-2's check after the backout with its output:\n%s", tty, fails)
		}
		if strings.Contains(fails, "web-1") {
			t.Errorf("tty=%v: web-1 is listed as a failure:\n%s", tty, fails)
		}
	}
}

func lineOf(frame, host string) string {
	for _, l := range strings.Split(frame, "\n") {
		if strings.Contains(l, " "+host+" ") {
			return l
		}
	}
	return ""
}
