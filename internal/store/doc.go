// Package store defines where golive keeps its durable state and the records
// it keeps there: runs and their states, the append-only journal of every
// run, the release that is live on each host, environment locks and
// approvals.
//
// The package holds the [Store] interface, the record types and a few pure
// helpers shared by every implementation ([NewRunID], [TailOutput],
// [MajorityRelease], [HolderGone]). Implementations live in sub-packages
// (sqlite, later postgres); each must pass the conformance suite in
// storetest. Opening a store by DSN is left to the caller (the CLI), so that
// this package does not depend on any driver.
//
// Conventions every implementation follows:
//
//   - Times are returned in UTC and truncated to microseconds.
//   - A record that does not exist is reported with an error wrapping
//     [ErrNotFound]; invalid input wraps [ErrInvalid]; a duplicate id wraps
//     [ErrExists].
//   - A run's state only moves through [RunStore.UpdateRunState], a
//     compare-and-set that fails with a [*StateConflictError] (which is
//     [ErrStateConflict]) when the run is not in one of the expected states.
//     Every state change is journaled in the same transaction.
//   - An event for which [Journal.AppendEvent] returned no error is durable:
//     it survives the controller being killed.
package store
