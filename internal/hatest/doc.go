// Package hatest is the high-availability suite: several real `golive
// serve` processes on one throwaway PostgreSQL (internal/pgtest), runs of
// local hosts started over the API, and servers killed (SIGKILL), paused
// (SIGSTOP) or cut off from a restarted PostgreSQL in the middle of a
// batch. It checks that another server takes the run over once its lease
// expired (controls.takeover), that hosts end exactly as they should with
// each step's success journaled once, and that a fenced server writes
// nothing and touches no host. Skipped, with the reason, where PostgreSQL
// cannot run.
package hatest
