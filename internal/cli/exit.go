package cli

import (
	"errors"
	"fmt"

	"github.com/golive-dev/golive/internal/engine"
	"github.com/golive-dev/golive/internal/load"
	"github.com/golive-dev/golive/internal/release"
	"github.com/golive-dev/golive/internal/store"
	"github.com/golive-dev/golive/internal/store/storetools"
)

// Exit codes of the contract.
const (
	ExitOK         = 0 // success; plan valid; review says go
	ExitFailed     = 1 // the run failed and was backed out cleanly
	ExitUsage      = 2 // usage error or invalid plan
	ExitNoGo       = 3 // no-go: review failed, window closed, approvals missing, locked
	ExitIncomplete = 4 // backout incomplete: targets need attention
)

// exitError carries an exit code; its message (if any) is printed.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

// withCode returns an error that makes golive exit with code, printing msg.
func withCode(code int, format string, args ...any) error {
	return &exitError{code: code, msg: fmt.Sprintf(format, args...)}
}

// silent makes golive exit with code without printing anything more.
func silent(code int) error { return &exitError{code: code} }

// reported is an error whose message was printed already: golive exits
// with the code err calls for, printing nothing more.
type reported struct{ err error }

func (r *reported) Error() string { return "" }
func (r *reported) Unwrap() error { return r.err }

// errUsage marks a usage problem (bad flags or arguments).
var errUsage = errors.New("usage")

// exitCode decides the exit code for an error: the one place that does.
func exitCode(err error) int {
	var ee *exitError
	var re *release.Error
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &ee):
		return ee.code
	case errors.As(err, &re):
		return exitForKind(re.Kind)
	case errors.As(err, new(*release.LockedError)):
		return ExitNoGo
	case errors.Is(err, storetools.ErrMismatch):
		// store copy wrote a target that does not read back as the
		// source: the target needs attention.
		return ExitIncomplete
	case errors.As(err, new(*engine.StoreError)):
		// The run is left unfinished: targets may need attention.
		return ExitIncomplete
	case errors.Is(err, errUsage), errors.Is(err, load.ErrUsage):
		return ExitUsage
	}
	return ExitUsage
}

// exitForKind maps the release core's classes of errors to exit codes.
func exitForKind(k release.Kind) int {
	switch k {
	case release.NoGo:
		return ExitNoGo
	case release.Incomplete:
		return ExitIncomplete
	}
	// Invalid, NotFound, Conflict, Refused: the command asked for
	// something that cannot be done as asked.
	return ExitUsage
}

// exitForBackout maps how a backout someone asked for (`golive backout`)
// ended: it did what was asked when the run is now backed out cleanly, so
// 0 (as for abort); otherwise as exitFor (4 while hosts need attention).
func exitForBackout(o *engine.Outcome, touched bool) int {
	if o.Run.State == store.StateBackedOut {
		return ExitOK
	}
	return exitFor(o, touched)
}

// exitFor maps how a run ended to the contract's exit code.
func exitFor(o *engine.Outcome, touched bool) int {
	switch o.Run.State {
	case store.StateSucceeded:
		return ExitOK
	case store.StateBackedOut:
		return ExitFailed
	case store.StateAborted:
		if touched {
			return ExitIncomplete
		}
		return ExitFailed
	case store.StateWaiting, store.StatePaused:
		return ExitNoGo
	}
	return ExitIncomplete // failed without backout, backout_failed, backout abandoned
}
