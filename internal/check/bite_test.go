package check_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golive-dev/golive/internal/check"
	"github.com/golive-dev/golive/internal/rollout"
)

// TestRunAttemptBoundedByTimeout: an attempt that hangs (exec sleep 20,
// which would exit 0) is cut at the check's timeout: not OK, and well
// before the 20s are up.
func TestRunAttemptBoundedByTimeout(t *testing.T) {
	conn, _ := dial(t)
	c := &check.Checker{}
	chk := &rollout.Check{Kind: "run", Run: "exec sleep 20", Timeout: 500 * time.Millisecond, Interval: 100 * time.Millisecond}
	start := time.Now()
	r := wait(t, until(context.Background(), c, chk, conn))
	if took := time.Since(start); took > 10*time.Second {
		t.Fatalf("Until took %s: the attempt was not bounded by the check's 500ms timeout", took)
	}
	if r.OK || !strings.HasPrefix(r.Detail, "timed out after 500ms (1 attempt)") {
		t.Fatalf("Until = %+v, want a timeout after 1 attempt", r)
	}
}

// TestHTTPAttemptBoundedByTimeout: the same for an http check against a
// server that never answers.
func TestHTTPAttemptBoundedByTimeout(t *testing.T) {
	srv := hangingServer(t)
	c := &check.Checker{}
	chk := &rollout.Check{Kind: "http", URL: srv, Timeout: 500 * time.Millisecond, Interval: 100 * time.Millisecond}
	start := time.Now()
	r := wait(t, until(context.Background(), c, chk, nil))
	if took := time.Since(start); took > check.NetworkTimeout/2 {
		t.Fatalf("Until took %s: the attempt was not bounded by the check's 500ms timeout", took)
	}
	if r.OK || r.Attempts != 1 {
		t.Fatalf("Until = %+v, want one failed attempt", r)
	}
}

// hangingServer is an http server that answers no request; it returns its
// URL.
func hangingServer(t *testing.T) string {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) }) // runs first, so Close does not wait on a handler
	return srv.URL
}

// TestDefaultsWhenZero: a check with no timeout and no interval gets the
// defaults: it is retried (not timed out at once) and not in a busy loop.
func TestDefaultsWhenZero(t *testing.T) {
	conn, _ := dial(t)
	c := &check.Checker{}
	chk := &rollout.Check{Kind: "run", Run: `n=$(cat count 2>/dev/null || echo 0); n=$((n+1)); echo $n > count; [ $n -ge 2 ]`}
	r := wait(t, until(context.Background(), c, chk, conn))
	if !r.OK || r.Attempts != 2 {
		t.Fatalf("Until = %+v, want OK on the 2nd attempt (default timeout %s)", r, rollout.DefaultCheckTimeout)
	}
	// For 400ms of failures the waits are 25, 50, 100, 200ms...: a handful of
	// attempts, not hundreds.
	ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
	defer cancel()
	r = wait(t, until(ctx, c, &rollout.Check{Kind: "run", Run: "exit 1"}, conn))
	if r.OK || r.Attempts > 8 {
		t.Fatalf("Until = %+v, want at most 8 attempts in 400ms (default interval %s)", r, rollout.DefaultCheckInterval)
	}
}
