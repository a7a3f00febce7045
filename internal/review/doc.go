// Package review is the deployment engineer's review of a plan before
// anything changes: targets, artifacts, preflight checks on every target,
// the release window and freezes, the release controls (ticket,
// approvals, backout coverage, rehearsal) and the environment lock. It
// returns a go/no-go report, one item per thing checked, and changes
// nothing anywhere.
package review
