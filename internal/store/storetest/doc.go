// Package storetest is the conformance suite that every store.Store
// implementation must pass. An implementation runs it from its own tests:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store { ... a new, empty store ... })
//	}
//
// The suite covers every method, the errors callers branch on, and the
// concurrency guarantees the engine relies on: a state compare-and-set and a
// lock acquisition have exactly one winner, and concurrent appends get unique,
// gapless sequence numbers.
package storetest
