package check_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golive-dev/golive/internal/check"
	"github.com/golive-dev/golive/internal/clock"
	"github.com/golive-dev/golive/internal/rollout"
	"github.com/golive-dev/golive/internal/transport"
	"github.com/golive-dev/golive/internal/transport/local"
)

// hangGuard is how long a check may take before a test calls it hung.
const hangGuard = 30 * time.Second

var epoch = time.Date(2026, 3, 29, 20, 0, 0, 0, time.UTC)

func dial(t *testing.T) (transport.Conn, string) {
	t.Helper()
	dir := t.TempDir()
	c, err := (&local.Transport{}).Dial(context.Background(), transport.Host{Name: "test", Dir: dir})
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c, dir
}

// until runs Until in a goroutine and returns a channel for its result.
func until(ctx context.Context, c *check.Checker, chk *rollout.Check, conn transport.Conn) <-chan check.Result {
	done := make(chan check.Result, 1)
	go func() { done <- c.Until(ctx, chk, conn, nil) }()
	return done
}

// wait returns the result on done, failing the test after hangGuard.
func wait(t *testing.T, done <-chan check.Result) check.Result {
	t.Helper()
	select {
	case r := <-done:
		return r
	case <-time.After(hangGuard):
		t.Fatalf("check did not return within %v", hangGuard)
		return check.Result{}
	}
}

func TestRunOnce(t *testing.T) {
	conn, _ := dial(t)
	tests := []struct {
		name, script string
		env          map[string]string
		ok           bool
		detail       string
	}{
		{"passes", "echo fine", nil, true, "exit 0"},
		{"env", `test "$GOLIVE_RELEASE" = 1.2.0`, map[string]string{"GOLIVE_RELEASE": "1.2.0"}, true, "exit 0"},
		{"last line", "echo first; echo 'no space left' >&2; echo; exit 3", nil, false, "exit 3: no space left"},
		{"no output", "exit 1", nil, false, "exit 1"},
		{"progress", `printf 'copying 10%%\rcopying 50%%\r\n'; exit 2`, nil, false, "exit 2: copying 50%"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c check.Checker
			r := c.Once(context.Background(), &rollout.Check{Kind: "run", Run: tt.script}, conn, tt.env)
			if r.OK != tt.ok || r.Detail != tt.detail || r.Attempts != 1 {
				t.Fatalf("Once = %+v, want OK %v, Detail %q, 1 attempt", r, tt.ok, tt.detail)
			}
		})
	}
}

func TestRunOutputTail(t *testing.T) {
	conn, _ := dial(t)
	var c check.Checker
	script := `i=0; while [ $i -lt 500 ]; do echo "line $i of some output"; i=$((i+1)); done; echo the end; exit 1`
	r := c.Once(context.Background(), &rollout.Check{Kind: "run", Run: script}, conn, nil)
	if len(r.Output) > check.MaxOutput || !strings.HasSuffix(r.Output, "line 499 of some output\nthe end\n") {
		t.Fatalf("Output (%d bytes) is not the tail of the output: ...%q", len(r.Output), r.Output[max(0, len(r.Output)-80):])
	}
	if r.Detail != "exit 1: the end" {
		t.Fatalf("Detail = %q", r.Detail)
	}
}

func TestRunPassesOnThirdAttempt(t *testing.T) {
	conn, dir := dial(t)
	fake := clock.NewFake(epoch)
	c := &check.Checker{Clock: fake}
	chk := &rollout.Check{Kind: "run", Timeout: time.Minute, Interval: 5 * time.Second,
		Run: `n=$(cat count 2>/dev/null || echo 0); n=$((n+1)); echo $n > count; echo "attempt $n"; [ $n -ge 3 ]`}
	done := until(context.Background(), c, chk, conn)
	for range 2 {
		fake.BlockUntil(1) // Until is waiting for the next attempt
		fake.Advance(chk.Interval)
	}
	r := wait(t, done)
	if !r.OK || r.Attempts != 3 || r.Duration != 10*time.Second || !strings.Contains(r.Output, "attempt 3") {
		t.Fatalf("Until = %+v, want OK after 3 attempts and 10s", r)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "count")); string(b) != "3\n" {
		t.Fatalf("count = %q, want 3", b)
	}
}

func TestUntilTimesOut(t *testing.T) {
	conn, _ := dial(t)
	fake := clock.NewFake(epoch)
	c := &check.Checker{Clock: fake}
	chk := &rollout.Check{Kind: "run", Run: "echo not yet; exit 1", Timeout: 3 * time.Second, Interval: time.Second}
	done := until(context.Background(), c, chk, conn)
	for range 3 {
		fake.BlockUntil(1)
		fake.Advance(time.Second)
	}
	r := wait(t, done)
	want := "timed out after 3s (3 attempts): exit 1: not yet"
	if r.OK || r.Attempts != 3 || r.Detail != want || r.Duration != 3*time.Second {
		t.Fatalf("Until = %+v, want Detail %q after 3 attempts", r, want)
	}
}

func TestUntilCancelled(t *testing.T) {
	conn, _ := dial(t)
	fake := clock.NewFake(epoch)
	c := &check.Checker{Clock: fake}
	chk := &rollout.Check{Kind: "run", Run: "echo down; exit 1", Timeout: time.Hour, Interval: time.Minute}

	ctx, cancel := context.WithCancelCause(context.Background())
	done := until(ctx, c, chk, conn)
	fake.BlockUntil(1)
	cancel(errors.New("operator abort"))
	r := wait(t, done)
	if r.OK || r.Attempts != 1 || r.Detail != "stopped: operator abort (after 1 attempt; last: exit 1: down)" {
		t.Fatalf("Until = %+v, want a stop naming the cause", r)
	}
	if n := fake.Waiters(); n != 0 {
		t.Fatalf("%d timers still pending", n)
	}

	// Already cancelled: no attempt at all.
	r = wait(t, until(ctx, c, chk, conn))
	if r.OK || r.Attempts != 0 || r.Detail != "stopped: operator abort" {
		t.Fatalf("Until with a done ctx = %+v", r)
	}
}

func TestUntilCancelledDuringAttempt(t *testing.T) {
	conn, _ := dial(t)
	c := &check.Checker{}
	chk := &rollout.Check{Kind: "run", Run: "echo started; exec sleep 60", Timeout: time.Hour, Interval: time.Second}
	ctx, cancel := context.WithCancelCause(context.Background())
	done := until(ctx, c, chk, conn)
	time.Sleep(50 * time.Millisecond) // let the attempt start; not needed for correctness
	cancel(errors.New("window closed"))
	r := wait(t, done)
	if r.OK || !strings.HasPrefix(r.Detail, "stopped: window closed") {
		t.Fatalf("Until = %+v, want a stop naming the cause", r)
	}
}

func TestConfirmIsNotACheck(t *testing.T) {
	c := &check.Checker{Clock: clock.NewFake(epoch)}
	chk := &rollout.Check{Kind: "confirm", Approvals: 1, Timeout: 30 * time.Minute}
	for _, r := range []check.Result{
		c.Once(context.Background(), chk, nil, nil),
		wait(t, until(context.Background(), c, chk, nil)),
	} {
		if r.OK || r.Attempts != 1 || r.Detail != "confirm is a sign-off, not a check" {
			t.Fatalf("result = %+v", r)
		}
	}
}

func TestHTTPOnce(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/health":
			fmt.Fprintln(w, `{"version":"1.2.0"}`)
		case "/old":
			fmt.Fprintln(w, `{"version":"1.1.9"}`)
		case "/moved":
			http.Redirect(w, r, "/health", http.StatusFound)
		case "/created":
			w.WriteHeader(http.StatusCreated)
		default:
			http.Error(w, "down", http.StatusServiceUnavailable)
		}
	}))
	t.Cleanup(srv.Close)
	tests := []struct {
		name, path, contains string
		status               int
		ok                   bool
		detail               string
	}{
		{"passes", "/health", "1.2.0", 200, true, "GET URL: 200 OK"},
		{"default status", "/health", "", 0, true, "GET URL: 200 OK"},
		{"status mismatch", "/down", "", 200, false, "GET URL: 503 Service Unavailable"},
		{"other status wanted", "/health", "", 201, false, "GET URL: 200 OK (want 201)"},
		{"other status passes", "/created", "", 201, true, "GET URL: 201 Created"},
		{"contains mismatch", "/old", "1.2.0", 200, false, `body does not contain "1.2.0"`},
		{"redirect followed", "/moved", "1.2.0", 200, true, "GET URL: 200 OK"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c check.Checker
			u := srv.URL + tt.path
			r := c.Once(context.Background(), &rollout.Check{Kind: "http", URL: u, Status: tt.status, Contains: tt.contains}, nil, nil)
			want := strings.Replace(tt.detail, "URL", u, 1)
			if r.OK != tt.ok || r.Detail != want {
				t.Fatalf("Once = %+v, want OK %v, Detail %q", r, tt.ok, want)
			}
		})
	}
}

func TestHTTPRefused(t *testing.T) {
	addr := closedPort(t)
	var c check.Checker
	u := "http://" + addr + "/health"
	r := c.Once(context.Background(), &rollout.Check{Kind: "http", URL: u}, nil, nil)
	if r.OK || !strings.HasPrefix(r.Detail, "GET "+u+": dial tcp "+addr) || !strings.Contains(r.Detail, "connection refused") {
		t.Fatalf("Once = %+v", r)
	}
}

func TestHTTPBecomesHealthy(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hits.Add(1) < 4 {
			http.Error(w, "starting", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok 1.2.0")
	}))
	t.Cleanup(srv.Close)
	c := &check.Checker{}
	chk := &rollout.Check{Kind: "http", URL: srv.URL, Status: 200, Contains: "1.2.0", Timeout: hangGuard, Interval: 10 * time.Millisecond}
	r := wait(t, until(context.Background(), c, chk, nil))
	if !r.OK || r.Attempts != 4 || hits.Load() != 4 {
		t.Fatalf("Until = %+v after %d requests, want OK on the 4th", r, hits.Load())
	}
}

func TestHTTPHangingServer(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) }) // runs first, so Close does not wait on a handler

	c := &check.Checker{}
	chk := &rollout.Check{Kind: "http", URL: srv.URL, Timeout: 300 * time.Millisecond, Interval: 100 * time.Millisecond}
	r := wait(t, until(context.Background(), c, chk, nil))
	if r.OK || !strings.HasPrefix(r.Detail, "timed out after 300ms (") || !strings.Contains(r.Detail, "GET "+srv.URL) {
		t.Fatalf("Until = %+v, want a timeout", r)
	}
}

func TestHTTPIgnoresProxyEnvironment(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "direct")
	}))
	t.Cleanup(srv.Close)
	proxy := "http://" + closedPort(t)
	for _, name := range []string{"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy"} {
		t.Setenv(name, proxy)
	}
	t.Setenv("NO_PROXY", "")
	t.Setenv("no_proxy", "")
	// Go never proxies "localhost" or loopback IPs, whatever the
	// environment says. "LOCALHOST" is neither (that test is case
	// sensitive), so it would be proxied, and the hosts file resolves it.
	const host = "LOCALHOST"
	if ips, err := net.DefaultResolver.LookupNetIP(context.Background(), "ip4", host); err != nil || len(ips) == 0 || !ips[0].IsLoopback() {
		t.Skipf("%s does not resolve to a loopback address here: %v %v", host, ips, err)
	}
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	u.Host = host + ":" + u.Port()

	// The proxy is unreachable: a client that used it would fail.
	viaProxy := &http.Client{Transport: &http.Transport{Proxy: func(*http.Request) (*url.URL, error) { return url.Parse(proxy) }}}
	if resp, err := viaProxy.Get(u.String()); err == nil {
		resp.Body.Close()
		t.Fatalf("a request through %s succeeded; the test proves nothing", proxy)
	}

	var c check.Checker
	r := c.Once(context.Background(), &rollout.Check{Kind: "http", URL: u.String(), Contains: "direct"}, nil, nil)
	if !r.OK {
		t.Fatalf("Once = %+v, want the request to reach the server directly", r)
	}
}

func TestTCP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var c check.Checker
	r := c.Once(context.Background(), &rollout.Check{Kind: "tcp", Address: ln.Addr().String()}, nil, nil)
	if !r.OK || r.Attempts != 1 {
		t.Fatalf("Once against a listener = %+v", r)
	}

	addr := closedPort(t)
	r = c.Once(context.Background(), &rollout.Check{Kind: "tcp", Address: addr}, nil, nil)
	if r.OK || !strings.HasPrefix(r.Detail, "dial tcp "+addr) || !strings.Contains(r.Detail, "connection refused") {
		t.Fatalf("Once against a closed port = %+v", r)
	}
}

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// TestUntilKeepsOutputOfAttemptBeforeCut: when the deadline cuts an
// attempt before it printed anything, the result keeps what the attempt
// before it printed (the real clock: the cut is the check's own timeout).
func TestUntilKeepsOutputOfAttemptBeforeCut(t *testing.T) {
	conn, _ := dial(t)
	c := &check.Checker{}
	chk := &rollout.Check{Kind: "run", Timeout: 700 * time.Millisecond, Interval: 10 * time.Millisecond,
		Run: `if [ -f tried ]; then exec sleep 20; fi; touch tried; echo "first says why"; exit 1`}
	r := wait(t, until(context.Background(), c, chk, conn))
	if r.OK || r.Attempts < 2 || !strings.Contains(r.Output, "first says why") {
		t.Fatalf("Until = %+v, want the first attempt's output after the second was cut", r)
	}
	if want := "timed out after 700ms (2 attempts): exit 1: first says why (the last attempt was cut off)"; r.Detail != want {
		t.Fatalf("Detail = %q, want %q", r.Detail, want)
	}
}

// passAtDeadline is a connection whose second and later runs end only
// when their context does, and then report exit 0: an attempt that passes
// just as the check's deadline cuts it (a race no real target can be made
// to win on demand).
type passAtDeadline struct {
	transport.Conn
	runs int
}

func (p *passAtDeadline) Run(ctx context.Context, c transport.Command) (transport.Result, error) {
	p.runs++
	if p.runs == 1 {
		return p.Conn.Run(ctx, c)
	}
	<-ctx.Done()
	return transport.Result{ExitCode: 0}, nil
}

// TestUntilPassAtTheDeadlineIsAPass: an attempt that passes as the
// deadline comes is a pass, not a cut attempt dressed in the previous
// failure (its output and "exit 1 ... cut off").
func TestUntilPassAtTheDeadlineIsAPass(t *testing.T) {
	conn, _ := dial(t)
	c := &check.Checker{}
	chk := &rollout.Check{Kind: "run", Timeout: 500 * time.Millisecond, Interval: 10 * time.Millisecond,
		Run: `echo "first fails"; exit 1`}
	r := wait(t, until(context.Background(), c, chk, &passAtDeadline{Conn: conn}))
	if !r.OK || strings.Contains(r.Detail, "cut off") || strings.Contains(r.Output, "first fails") {
		t.Fatalf("Until = %+v, want the passing last attempt", r)
	}
}
