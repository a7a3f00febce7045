// Package transporttest is the conformance suite that every
// transport.Transport implementation must pass. An implementation runs it
// from its own tests:
//
//	func TestConformance(t *testing.T) {
//		transporttest.Run(t, transporttest.Harness{
//			Dial: func(t *testing.T, tg transporttest.Target) transport.Conn {
//				... a new connection whose Host.Dir is tg.Dir and whose grace period is tg.Grace ...
//			},
//			ErrorPrefix: "local test: ",
//		})
//	}
//
// The suite covers the contract of the transport package: exit codes, the
// environment and its quoting, working directories, output (streamed, in
// order with one writer, a failing writer), interruption (a timeout or a
// cancellation terminates the script's whole process group, SIGTERM first
// and SIGKILL after the grace period, and the error tells the two apart),
// uploads (fresh, skipped on the same SHA-256, replaced, mode applied,
// parent directories created, nothing temporary left behind, streamed with
// a bounded heap, rejected inputs) and the use of a closed connection.
//
// The target's files must be files of the controller (a local directory, or
// an SSH server on the same machine): the suite checks them with the os
// package, and checks that processes are gone in /proc.
//
// Run runs everything; RunCommands, RunInterrupts and RunUploads run one
// part again, for an implementation that has several ways to do that part
// (an SSH server that does or does not start a new session, a target with
// or without sha256sum). The helpers (RunGuarded, LineWriter, Source, ...) are
// exported for the tests an implementation keeps for itself.
package transporttest
