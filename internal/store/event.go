package store

import (
	"fmt"
	"time"
	"unicode/utf8"
)

// Kind says what an event is about.
type Kind string

// Event kinds. Implementations accept any non-empty kind.
const (
	KindState    Kind = "state" // a run state change, written by UpdateRunState and CreateRun
	KindRun      Kind = "run"
	KindReview   Kind = "review"
	KindStage    Kind = "stage"
	KindBatch    Kind = "batch"
	KindHost     Kind = "host"
	KindStep     Kind = "step"
	KindCheck    Kind = "check"
	KindMonitor  Kind = "monitor"
	KindApproval Kind = "approval"
	KindLock     Kind = "lock"
	KindNotify   Kind = "notify"
)

// Action says what happened. For KindState events it is the new State.
// Implementations accept any non-empty action.
type Action string

// Event actions.
const (
	ActionStarted       Action = "started"
	ActionFinished      Action = "finished"
	ActionFailed        Action = "failed"
	ActionSkipped       Action = "skipped"
	ActionRetried       Action = "retried"
	ActionTimedOut      Action = "timed_out"
	ActionTerminated    Action = "terminated"
	ActionBackedOut     Action = "backed_out"
	ActionBackoutFailed Action = "backout_failed"
	ActionPassed        Action = "passed"
	ActionApproved      Action = "approved"
	ActionRejected      Action = "rejected"
	ActionAcquired      Action = "acquired"
	ActionReleased      Action = "released"
	ActionStolen        Action = "stolen"
)

// MaxOutput is the most output, in bytes, that the store keeps per event: the
// tail of the output.
const MaxOutput = 4 << 10

// Event is one entry in a run's journal.
type Event struct {
	RunID    string
	Seq      int64     // assigned by the store: 1, 2, 3, ... per run
	Time     time.Time // when it happened; now when zero
	Kind     Kind
	Action   Action
	Stage    string
	Batch    int // batch index within Stage, as numbered by the engine
	Host     string
	Step     string
	ExitCode *int // nil when there is no exit code
	Duration time.Duration
	Output   string // tail of the output, at most MaxOutput bytes
	Message  string
	Actor    string // who caused it, when a person did (the claimed name, or the token's name)
	// ActorVia, ActorOSUser, ActorToken say what vouches for Actor (see
	// Identity); the store fills the first two when Actor is set alone.
	ActorVia    Via
	ActorOSUser string
	ActorToken  string
}

// Validate checks the fields a caller must set before AppendEvent.
func (e Event) Validate() error {
	switch {
	case e.RunID == "":
		return fmt.Errorf("event: run id is empty: %w", ErrInvalid)
	case e.Kind == "":
		return fmt.Errorf("event: kind is empty: %w", ErrInvalid)
	case e.Action == "":
		return fmt.Errorf("event: action is empty: %w", ErrInvalid)
	}
	return nil
}

// TailOutput returns the last MaxOutput bytes of s, starting at a UTF-8
// character boundary.
func TailOutput(s string) string {
	if len(s) <= MaxOutput {
		return s
	}
	s = s[len(s)-MaxOutput:]
	for i := 0; i < utf8.UTFMax && i < len(s); i++ {
		if utf8.RuneStart(s[i]) {
			return s[i:]
		}
	}
	return s
}

// ExitCode returns a pointer to code, for Event.ExitCode.
func ExitCode(code int) *int { return &code }
