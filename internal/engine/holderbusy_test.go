package engine_test

import (
	"strings"
	"testing"

	"github.com/golive-dev/golive/internal/engine"
	"github.com/golive-dev/golive/internal/store"
)

// TestHolderBusyNamesOtherPIDSpace: a run held by a controller on this
// host name but in another pid namespace (or boot) says why it is not
// simply taken over; one in this pid space, or on another host, does not.
func TestHolderBusyNamesOtherPIDSpace(t *testing.T) {
	here := store.ThisHolder()
	for _, c := range []struct {
		holder store.Holder
		note   bool
	}{
		{store.Holder{PID: 1, Hostname: here.Hostname, PIDSpace: here.PIDSpace + "-other"}, true},
		{store.Holder{PID: 1, Hostname: here.Hostname, PIDSpace: here.PIDSpace}, false},
		{store.Holder{PID: 1, Hostname: here.Hostname + "-other", PIDSpace: here.PIDSpace + "-other"}, false},
	} {
		msg := (&engine.HolderBusyError{Lock: store.Lock{RunID: "r-1", Holder: c.holder}}).Error()
		if strings.Contains(msg, "another pid namespace or boot") != c.note {
			t.Errorf("holder %+v: %q; want the pid-namespace note: %v", c.holder, msg, c.note)
		}
	}
}

// TestAbortErrorText: an abort names who asked and, when given, why.
func TestAbortErrorText(t *testing.T) {
	for e, want := range map[*engine.AbortError]string{
		{By: "ann", Reason: "wrong ticket"}: "aborted by ann: wrong ticket",
		{By: "ann"}:                         "aborted by ann",
	} {
		if got := e.Error(); got != want {
			t.Errorf("%+v: %q, want %q", *e, got, want)
		}
	}
}
