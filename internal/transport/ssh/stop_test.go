package ssh_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golive-dev/golive/internal/transport"
	sshtr "github.com/golive-dev/golive/internal/transport/ssh"
)

// readPids reads one pid from each file.
func readPids(t *testing.T, files ...string) []int {
	t.Helper()
	var ps []int
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatalf("pid file: %v", err)
		}
		p, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil {
			t.Fatalf("pid file %s: %q", f, b)
		}
		ps = append(ps, p)
	}
	return ps
}

// A timed-out script and the children it started in the background are all
// terminated on the target, whether sshd or the wrapper made the group.
func TestRunTimeoutKillsRemoteGroup(t *testing.T) {
	requireProc(t)
	for _, setsid := range []bool{true, false} {
		t.Run("server setsid "+strconv.FormatBool(setsid), func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			ts := f.server(serverOpts{setsid: setsid})
			h := f.host(ts)
			conn := dial(t, &sshtr.Transport{Grace: 2 * time.Second}, h)
			script := `sleep 300 & echo $! >p1; sleep 300 & echo $! >p2; echo $$ >p0; echo ready; wait`
			out := newLineWriter()
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			res, err := runGuarded(t, ctx, conn, transport.Command{Script: script, Stdout: out})
			if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
				t.Errorf("err = %v, want context.DeadlineExceeded only", err)
			}
			if res.ExitCode != -1 {
				t.Errorf("ExitCode = %d, want -1", res.ExitCode)
			}
			if out.String() != "ready\n" {
				t.Errorf("output %q", out.String())
			}
			d := h.Dir
			assertGone(t, readPids(t, filepath.Join(d, "p0"), filepath.Join(d, "p1"), filepath.Join(d, "p2")))
		})
	}
}

// Processes that ignore SIGTERM get SIGKILL once the grace period is over.
func TestRunIgnoredTermGetsKill(t *testing.T) {
	requireProc(t)
	t.Parallel()
	f := newFixture(t)
	ts := f.server(serverOpts{setsid: true})
	h := f.host(ts)
	conn := dial(t, &sshtr.Transport{Grace: 300 * time.Millisecond}, h)
	script := `trap "" TERM; sleep 300 & echo $! >p1; echo $$ >p0; echo ready; while :; do sleep 1; done`
	out := newLineWriter()
	ctx, cancel := context.WithCancelCause(context.Background())
	errAbort := errors.New("operator aborted")
	go func() {
		<-out.ready
		cancel(errAbort)
	}()
	start := time.Now()
	res, err := runGuarded(t, ctx, conn, transport.Command{Script: script, Stdout: out})
	if !errors.Is(err, context.Canceled) || !errors.Is(err, errAbort) || res.ExitCode != -1 {
		t.Errorf("Run = %+v, %v; want -1, context.Canceled wrapping the cause", res, err)
	}
	if !strings.HasPrefix(err.Error(), "ssh web-1: ") {
		t.Errorf("err = %q, want the host prefix", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Run took %v", d)
	}
	assertGone(t, readPids(t, filepath.Join(h.Dir, "p0"), filepath.Join(h.Dir, "p1")))
}

// SIGTERM comes first: a script that handles it can clean up, and its last
// output is still delivered.
func TestRunTermBeforeKill(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ts := f.server(serverOpts{setsid: true})
	conn := dial(t, &sshtr.Transport{Grace: 20 * time.Second}, f.host(ts))
	script := `trap 'echo cleaned up; exit 7' TERM; echo ready; while :; do sleep 0.05; done`
	out := newLineWriter()
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-out.ready
		cancel()
	}()
	start := time.Now()
	res, err := runGuarded(t, ctx, conn, transport.Command{Script: script, Stdout: out})
	if !errors.Is(err, context.Canceled) || res.ExitCode != -1 {
		t.Errorf("Run = %+v, %v; want -1, context.Canceled", res, err)
	}
	if got := out.String(); got != "ready\ncleaned up\n" {
		t.Errorf("output = %q, want the trap's output", got)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Run took %v: it waited for the grace period although the group had exited", d)
	}
}

// A connection the server drops in the middle of a step fails the Run at
// once with ErrConnLost.
func TestRunConnectionDropped(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ts := f.server(serverOpts{setsid: true})
	conn := dial(t, &sshtr.Transport{}, f.host(ts))
	out := newLineWriter()
	go func() {
		<-out.ready
		ts.drop()
	}()
	res, err := runGuarded(t, context.Background(), conn, transport.Command{Script: "echo ready; sleep 5", Stdout: out})
	if !errors.Is(err, sshtr.ErrConnLost) || res.ExitCode != -1 {
		t.Errorf("Run = %+v, %v; want -1, ErrConnLost", res, err)
	}
	if _, err := conn.Run(context.Background(), transport.Command{Script: "true"}); !errors.Is(err, sshtr.ErrConnLost) {
		t.Errorf("Run on the lost connection: %v, want ErrConnLost", err)
	}
}

// A host that stops answering (no FIN, no RST) is detected by keepalives.
func TestRunKeepaliveDetectsDeadHost(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ts := f.server(serverOpts{setsid: true})
	conn := dial(t, &sshtr.Transport{KeepAlive: 100 * time.Millisecond}, f.host(ts))
	out := newLineWriter()
	go func() {
		<-out.ready
		ts.freeze()
	}()
	start := time.Now()
	res, err := runGuarded(t, context.Background(), conn, transport.Command{Script: "echo ready; sleep 20", Stdout: out})
	if !errors.Is(err, sshtr.ErrConnLost) || res.ExitCode != -1 || !strings.Contains(err.Error(), "keepalive") {
		t.Errorf("Run = %+v, %v; want -1, ErrConnLost naming the keepalives", res, err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Run took %v to notice the dead host", d)
	}
}
