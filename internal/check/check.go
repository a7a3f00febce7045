package check

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/golive-dev/golive/internal/clock"
	"github.com/golive-dev/golive/internal/rollout"
	"github.com/golive-dev/golive/internal/transport"
)

// Kinds of check.
const (
	KindRun     = "run"
	KindHTTP    = "http"
	KindTCP     = "tcp"
	KindConfirm = "confirm"
)

// Limits of one attempt.
const (
	// NetworkTimeout bounds one http or tcp attempt (less when the
	// check's deadline is nearer).
	NetworkTimeout = 10 * time.Second
	// MaxBody is how much of an http response body is read.
	MaxBody = 1 << 20
	// MaxOutput is how much of a run check's output Result.Output keeps
	// (its end).
	MaxOutput = 4 << 10
)

// Result of one check.
type Result struct {
	OK       bool
	Attempts int
	// Detail is one line a person reads: "exit 1: <last output line>",
	// "GET http://...: 503 Service Unavailable", "body does not contain
	// \"1.2.0\"", "dial tcp 127.0.0.1:9: connect: connection refused",
	// "timed out after 20s (12 attempts): <last failure>".
	Detail   string
	Output   string // tail of the output of a run check (at most MaxOutput bytes)
	Duration time.Duration
}

// PreflightResult is one preflight check on one target (Host "" for the
// controller).
type PreflightResult struct {
	Check string
	Host  string
	Result
}

// Checker runs checks. The zero value is ready to use.
type Checker struct {
	Clock clock.Clock // nil = clock.Real()
	// HTTP makes the requests of http checks. nil = a client that ignores
	// proxy settings in the environment (checks target hosts directly),
	// opens a new connection for every request and follows redirects.
	HTTP *http.Client
}

// Once runs the check a single time. conn runs `run` checks (the target,
// or a local conn for the controller); http and tcp checks are made from
// the controller and ignore conn. env is added to a run check's
// environment. ctx bounds the attempt; http and tcp attempts are also
// bounded by NetworkTimeout.
func (c *Checker) Once(ctx context.Context, chk *rollout.Check, conn transport.Conn, env map[string]string) Result {
	start := c.clock().Now()
	var r Result
	switch chk.Kind {
	case KindRun:
		r = c.run(ctx, chk, conn, env)
	case KindHTTP:
		r = c.get(ctx, chk)
	case KindTCP:
		r = c.dial(ctx, chk)
	case KindConfirm:
		r = Result{Detail: "confirm is a sign-off, not a check"}
	default:
		r = Result{Detail: fmt.Sprintf("unknown check kind %q", chk.Kind)}
	}
	r.Attempts = 1
	r.Duration = c.clock().Now().Sub(start)
	return r
}

// Until repeats Once every chk.Interval until it passes or chk.Timeout has
// passed since the start; each attempt is also bounded by the time left.
// A Timeout or Interval of 0 means rollout.DefaultCheckTimeout or
// rollout.DefaultCheckInterval. When ctx is done, Until stops at once with
// OK false and a Detail naming the cause. A check that cannot be run (a
// confirm, an unknown kind) fails after its single attempt.
func (c *Checker) Until(ctx context.Context, chk *rollout.Check, conn transport.Conn, env map[string]string) Result {
	clk := c.clock()
	timeout, interval := chk.Timeout, chk.Interval
	if timeout <= 0 {
		timeout = rollout.DefaultCheckTimeout
	}
	if interval <= 0 {
		interval = rollout.DefaultCheckInterval
	}
	start := clk.Now()
	deadline := start.Add(timeout)
	var last Result
	for n := 1; ; n++ {
		if ctx.Err() != nil {
			return stopped(ctx, last, n-1, clk.Now().Sub(start))
		}
		actx, cancel := context.WithTimeout(ctx, deadline.Sub(clk.Now()))
		res := c.Once(actx, chk, conn, env)
		cut := actx.Err() != nil && ctx.Err() == nil
		cancel()
		if cut && !res.OK && res.Output == "" && n > 1 {
			// The deadline cut this attempt before it printed: what the
			// attempt before it printed, and how it failed, is what a
			// person needs to see ("exit 1", not the deadline's error).
			res.Output = last.Output
			res.Detail = last.Detail + " (the last attempt was cut off)"
		}
		last = res
		last.Attempts = n
		last.Duration = clk.Now().Sub(start)
		switch {
		case last.OK || !retryable(chk.Kind):
			return last
		case ctx.Err() != nil:
			return stopped(ctx, last, n, last.Duration)
		}
		if left := deadline.Sub(clk.Now()); left > 0 {
			// Sleep's error is ctx's, handled at the top of the loop.
			_ = clk.Sleep(ctx, min(backoff(n, interval), left))
		}
		if ctx.Err() == nil && !clk.Now().Before(deadline) {
			last.Detail = fmt.Sprintf("timed out after %v (%s): %s", timeout, attempts(n), last.Detail)
			last.Duration = clk.Now().Sub(start)
			return last
		}
	}
}

// firstRetry is the wait after a check's first failed attempt; it doubles
// with each attempt up to the check's interval. A service that comes up
// 100 ms after a restart is seen healthy then, not a whole interval later.
const firstRetry = 25 * time.Millisecond

func backoff(attempt int, interval time.Duration) time.Duration {
	d := firstRetry
	for i := 1; i < attempt && d < interval; i++ {
		d *= 2
	}
	return min(d, interval)
}

// stopped is the result of a check whose ctx ended it after n attempts.
func stopped(ctx context.Context, last Result, n int, d time.Duration) Result {
	r := Result{Attempts: n, Output: last.Output, Duration: d,
		Detail: "stopped: " + context.Cause(ctx).Error()}
	if n > 0 {
		r.Detail += fmt.Sprintf(" (after %s; last: %s)", attempts(n), last.Detail)
	}
	return r
}

func attempts(n int) string {
	if n == 1 {
		return "1 attempt"
	}
	return fmt.Sprintf("%d attempts", n)
}

// retryable reports whether another attempt of a check of this kind can
// give a different result.
func retryable(kind string) bool {
	return kind == KindRun || kind == KindHTTP || kind == KindTCP
}

func (c *Checker) clock() clock.Clock {
	if c.Clock == nil {
		return clock.Real()
	}
	return c.Clock
}
