package cli

import (
	"errors"
	"fmt"
	"testing"

	"github.com/golive-dev/golive/internal/release"
	"github.com/golive-dev/golive/internal/store"
)

// TestExitCodesOfCoreErrors: every class of the release core's errors
// maps to the contract's exit code, also when wrapped.
func TestExitCodesOfCoreErrors(t *testing.T) {
	for _, c := range []struct {
		err  error
		want int
	}{
		{&release.Error{Kind: release.Invalid}, ExitUsage},
		{&release.Error{Kind: release.NotFound, Msg: "no run"}, ExitUsage},
		{&release.Error{Kind: release.Conflict, Msg: "finished"}, ExitUsage},
		{&release.Error{Kind: release.Refused, Msg: "not an approver"}, ExitUsage},
		{&release.Error{Kind: release.NoGo, Msg: "no-go"}, ExitNoGo},
		{&release.Error{Kind: release.Incomplete, Msg: "controller gone"}, ExitIncomplete},
		{fmt.Errorf("wrapped: %w", &release.Error{Kind: release.NoGo}), ExitNoGo},
		{&release.LockedError{Lock: store.Lock{RunID: "r-1"}, Err: errors.New("locked")}, ExitNoGo},
	} {
		if got := exitCode(c.err); got != c.want {
			t.Errorf("exitCode(%#v) = %d, want %d", c.err, got, c.want)
		}
	}
}
