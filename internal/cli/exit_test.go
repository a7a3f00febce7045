package cli

import (
	"errors"
	"fmt"
	"testing"

	"github.com/golive-dev/golive/internal/engine"
	"github.com/golive-dev/golive/internal/load"
	"github.com/golive-dev/golive/internal/store"
)

// TestExitFor: how a run ended decides the contract's exit code.
func TestExitFor(t *testing.T) {
	for _, tc := range []struct {
		state   store.State
		touched bool
		want    int
	}{
		{store.StateSucceeded, true, ExitOK},
		{store.StateBackedOut, true, ExitFailed},
		{store.StateAborted, false, ExitFailed},    // aborted before anything changed
		{store.StateAborted, true, ExitIncomplete}, // aborted with targets changed
		{store.StateWaiting, false, ExitNoGo},      // waits for approvals or the window
		{store.StatePaused, true, ExitNoGo},        // at a gate or sign-off
		{store.StateFailed, true, ExitIncomplete},  // automatic backout off
		{store.StateBackoutFailed, true, ExitIncomplete},
	} {
		o := &engine.Outcome{Run: store.Run{State: tc.state}}
		if got := exitFor(o, tc.touched); got != tc.want {
			t.Errorf("exitFor(%s, touched %v) = %d, want %d", tc.state, tc.touched, got, tc.want)
		}
	}
}

// TestExitCode: errors map to exit codes in one place.
func TestExitCode(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want int
	}{
		{nil, ExitOK},
		{withCode(ExitNoGo, "locked"), ExitNoGo},
		{fmt.Errorf("wrapped: %w", silent(ExitIncomplete)), ExitIncomplete},
		{silent(ExitFailed), ExitFailed},
		{fmt.Errorf("flags: %w", errUsage), ExitUsage},
		{fmt.Errorf("plan: %w", load.ErrUsage), ExitUsage},
		{errors.New("anything else"), ExitUsage},
	} {
		if got := exitCode(tc.err); got != tc.want {
			t.Errorf("exitCode(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
	if ExitOK != 0 || ExitFailed != 1 || ExitUsage != 2 || ExitNoGo != 3 || ExitIncomplete != 4 {
		t.Fatal("the exit codes of the contract changed")
	}
}
