// Package release is the release core: the orchestration of a release
// (load the plan, verify the artifacts, review, create or wait, execute,
// notify, back out) that every front end calls. `golive run`, `resume`,
// `approve` ... (internal/cli) call it at a terminal; `golive serve` calls
// it for the API, webhooks and waiting runs it starts by itself.
//
// A front end builds a Service (how stores are opened, where secrets come
// from, where plan diagnostics go) and calls its methods with plain option
// structs and the store.Identity that acts: a name claimed at the CLI
// (store.CLIIdentity) or an API token's name (Via api, Token). The core
// checks every value it is given by the rules of internal/values, also
// when the front end did (an Invalid error, nothing opened or recorded).
//
//	Review(ctx, ReviewOptions) (*review.Report, error)   go/no-go; changes nothing
//	Start(ctx, StartOptions) (*Result, error)            review, create (running or waiting), execute
//	Resume(ctx, ResumeOptions) (*Result, error)          go on from the journal; a waiting run is reviewed again
//	Backout(ctx, BackoutOptions) (*Result, error)        back out what a run changed
//	Rehearse(ctx, StartOptions) (*Result, error)         release, verify, back out, check the previous release
//	Abort(ctx, AbortOptions) (*AbortResult, error)       stop a run (its controller, or here)
//	ForceAbort(ctx, ForceAbortOptions) (was, now, error) clear a stuck run, touching no target
//	Approve / Reject / Confirm(ctx, DecideOptions) (*Decision, error)
//	Status(ctx, RunRef) (*Status, error)                 run, journal, lock, approvals
//	Events(ctx, EventsOptions, fn) error                 journal events after a seq; Follow to the end
//	Run(ctx, RunRef) (store.Run, error)                  find a run by id or "last"
//
// The core prints nothing and reads no flags. What happens is told through
// Watch (the review, the new run, every journal event through an
// engine.Observer, notes for a person) and returned as results. Errors are
// typed: *Error with a Kind (Invalid, NotFound, Conflict, Refused, NoGo,
// Incomplete), *LockedError, *WaitEndedError, and the engine's
// *engine.StoreError; the CLI maps them to exit codes (cli/exit.go), the
// server to HTTP statuses. How a run ended is its state in Result.Run,
// not an error.
package release
