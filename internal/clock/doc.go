// Package clock owns golive's notion of time. Engine, window and check code
// take a Clock instead of calling time.Now, time.After or time.Sleep, so that
// tests can drive time explicitly.
//
// Real returns the system clock. Fake is a manually advanced clock for
// tests: its timers fire only when Advance or Set moves the fake time to or
// past their deadline, and BlockUntil lets a test wait, without sleeping,
// until the code under test is blocked on a given number of timers.
package clock
