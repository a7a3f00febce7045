// Package check runs golive's checks: the preflight, health and verify
// entries of a plan, rendered as [rollout.Check] values.
//
// A [Checker] runs a check once ([Checker.Once]) or repeats it until it
// passes or its timeout has passed ([Checker.Until]). There are three kinds
// of check:
//
//   - run: a script run with `sh -c` on a [transport.Conn] (the target, or
//     a local connection for checks that run on the controller). It passes
//     when it exits 0.
//   - http: a GET from the controller. It passes when the status is the
//     check's Status (200 by default) and, when Contains is set, the first
//     MiB of the body contains it. Proxy settings in the environment are
//     ignored: checks go straight to the target. Redirects are followed.
//   - tcp: a TCP dial from the controller. It passes when it connects.
//
// Fact probes (package, command, service, port, disk, memory, user, file)
// are not run one by one: [FactScript] makes one POSIX sh script that
// probes all the facts of a host (and runs targets.current), [GatherFacts]
// runs it in one session, [ParseFacts] reads its strict line format and
// [JudgeFact] compares what was found with what was wanted, in dpkg
// ([CompareDpkg]) or rpm ([CompareRPM], [RPMVerCmp]) version order. What
// cannot be determined is unknown and fails. [Dialer] opens the read-only
// connections the review uses for them, without the engine.
//
// A confirm entry is a human sign-off, not something this package runs;
// it always fails at once, saying so.
//
// Every [Result] has a one-line Detail meant for a person ("exit 1: no
// space left", "GET http://web-1:8080/health: 503 Service Unavailable",
// "timed out after 20s (12 attempts): ..."). Waiting between attempts uses
// the injected [clock.Clock], so tests with a fake clock never sleep; each
// attempt is also bounded, in real time, by the time left before the
// check's deadline, so a hanging target cannot hold a check past it. When
// the deadline cuts an attempt before it printed anything, the result says
// how the attempt before it failed ("timed out after 20s (12 attempts):
// exit 1: not ready (the last attempt was cut off)").
package check
