// Package crashtest holds crash tests for golive: they start a real
// `golive run` process, kill it with SIGKILL at chosen points (mid-step,
// between batches, during backout), then `golive resume` or `golive
// backout` the run and check that the targets' files end exactly right and
// that no run is left "running" with nothing running it.
//
// TestMain builds the golive binary once; the package is skipped when `go`
// is not on PATH. Every test writes its own plan to a temporary directory:
// local hosts (a directory each) whose idempotent steps write release files
// and append to a per-host log outside the host directory, each with a
// backout. A step stops at a synchronisation point when the test "arms" it
// (a file in the sync directory naming how long to sleep): the step writes a
// marker file, sleeps, and the test kills golive once the marker appears.
//
// The package has no non-test code besides this comment.
package crashtest
