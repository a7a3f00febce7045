// Package engine executes a rollout: the run state machine
//
//	pending -> running -> verifying -> succeeded
//	              |           |
//	              +-----------+--> failed -> backing_out -> backed_out | backout_failed
//	(plus waiting and paused, used by the release controls, and aborted)
//
// Stages run in order, batches in order, the hosts of a batch in parallel
// (bounded by Options.Parallel), each host's steps in order and then its
// health checks. When a stage exceeds its failure budget, a verify check
// fails or an operator aborts, the engine starts nothing new, terminates
// what runs, and backs out: on every touched host, the backouts of the
// steps that started, newest first, newest stage first.
//
// Journal first: every transition is appended to the store's journal
// before it is acted on. Resume and Backout rebuild what happened from the
// journal alone, so a controller killed at any instant loses nothing: a
// step journaled as started but not finished runs again on resume (steps
// must be idempotent) and is backed out by backout.
//
// Secrets: every connection the engine dials is wrapped so that what a
// step, backout or check prints passes Options.Redactor as it streams,
// before it is kept as a tail, cut to a line for a reason, journaled or
// shown; transport errors are redacted too.
package engine
