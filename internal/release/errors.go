package release

import (
	"errors"
	"fmt"

	"github.com/golive-dev/golive/internal/plan"
	"github.com/golive-dev/golive/internal/review"
	"github.com/golive-dev/golive/internal/store"
)

// Kind classes the errors of the core. A front end maps each to its own
// answer: the CLI to an exit code (internal/cli/exit.go), the server to an
// HTTP status.
type Kind int

// Kinds of errors.
const (
	// Invalid: the plan, a value given (release, ticket, --set, a name,
	// a comment) or the request is not acceptable. CLI exit 2, HTTP 422.
	Invalid Kind = iota + 1
	// NotFound: no such run. CLI exit 2, HTTP 404.
	NotFound
	// Conflict: the run's state does not allow what was asked (approve a
	// finished run, back out a waiting one). CLI exit 2, HTTP 409.
	Conflict
	// Refused: the identity may not do it (not an approver, its own run
	// under allow_self: false, an unauthenticated approval). CLI exit 2,
	// HTTP 403.
	Refused
	// NoGo: nothing was changed because the release may not go now: the
	// review said no-go, the plan or the artifacts changed since the run
	// was created, a decision does not count, waiting was given up. CLI
	// exit 3, HTTP 412 (409 for a locked environment: see LockedError).
	NoGo
	// Incomplete: targets need attention (a run stopped without backout,
	// a controller gone mid-abort). CLI exit 4.
	Incomplete
)

func (k Kind) String() string {
	switch k {
	case Invalid:
		return "invalid"
	case NotFound:
		return "not_found"
	case Conflict:
		return "conflict"
	case Refused:
		return "refused"
	case NoGo:
		return "no_go"
	case Incomplete:
		return "incomplete"
	}
	return "error"
}

// Error is an error of the core with its Kind. Its message is what a
// person reads (the CLI prints it after "golive: "); it is empty when what
// went wrong was told already (the plan's diagnostics, through
// Service.Diags).
type Error struct {
	Kind   Kind
	Msg    string
	Diags  plan.Diags     // Invalid plan: its diagnostics
	Report *review.Report // NoGo after a review: the report
	Err    error          // the cause, if any
}

func (e *Error) Error() string { return e.Msg }
func (e *Error) Unwrap() error { return e.Err }

func errorf(k Kind, format string, args ...any) *Error {
	return &Error{Kind: k, Msg: fmt.Sprintf(format, args...)}
}

// KindOf is the Kind of err (0 when it is not an *Error of the core).
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return 0
}

// LockedError says the environment is locked by another run. Holder is
// that run, when the store still has it.
type LockedError struct {
	Lock   store.Lock
	Holder *store.Run
	Err    error // the *store.LockedError
}

func (e *LockedError) Error() string { return e.Err.Error() }
func (e *LockedError) Unwrap() error { return e.Err }
