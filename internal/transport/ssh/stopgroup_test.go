package ssh_test

import (
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/golive-dev/golive/internal/transport"
	sshtr "github.com/golive-dev/golive/internal/transport/ssh"
	"github.com/golive-dev/golive/internal/transport/transporttest"
)

// running reports whether pid exists and is not a zombie.
func running(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	return len(f) > 0 && f[0] != "Z" && f[0] != "X"
}

// TestStopGroupLeftByALostConnection: a script keeps running on the host
// after its connection was dropped (as after a controller crash). Run
// reported its process group through Command.Started; a new connection's
// StopGroup leaves it alone under a wrong tag, stops it with the right
// one, and then finds nothing left to stop.
func TestStopGroupLeftByALostConnection(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ts := f.server(serverOpts{setsid: true})
	conn := dial(t, &sshtr.Transport{}, f.host(ts))
	out := transporttest.NewLineWriter()
	var mu sync.Mutex
	var procs []transport.RemoteProc
	go func() {
		<-out.Ready()
		ts.drop()
	}()
	_, err := transporttest.RunGuarded(t, context.Background(), conn, transport.Command{
		// The wrapper reports the group on stderr before the script runs;
		// the pause lets that report arrive before the link is cut on
		// "ready" (stdout and stderr are separate channels).
		Script: "sleep 0.5; echo ready; sleep 60; echo not-stopped", Stdout: out,
		Started: func(p transport.RemoteProc) { mu.Lock(); procs = append(procs, p); mu.Unlock() },
	})
	if !errors.Is(err, sshtr.ErrConnLost) {
		t.Fatalf("Run: %v, want ErrConnLost", err)
	}
	mu.Lock()
	if len(procs) != 1 {
		t.Fatalf("Started called %d times, want once", len(procs))
	}
	p := procs[0]
	mu.Unlock()
	if p.PGID <= 1 || p.PID != p.PGID || !strings.HasPrefix(p.Tag, "golive-") {
		t.Fatalf("Started(%+v): want the script's own process group and its tag", p)
	}
	if back, ok := transport.ParseRemoteProc("x: " + p.String()); !ok || back != p {
		t.Errorf("ParseRemoteProc(%q) = %+v, %v", p.String(), back, ok)
	}
	if !running(p.PID) {
		t.Fatalf("the script (pid %d) did not outlive its connection; the test proves nothing", p.PID)
	}
	t.Cleanup(func() { syscall.Kill(-p.PGID, syscall.SIGKILL) })

	conn2 := dial(t, &sshtr.Transport{}, f.host(ts))
	stopper, ok := conn2.(transport.GroupStopper)
	if !ok {
		t.Fatal("an ssh connection is not a transport.GroupStopper")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	found, err := stopper.StopGroup(ctx, transport.RemoteProc{PID: p.PID, PGID: p.PGID, Tag: "golive-00000000deadbeef"})
	if err != nil || found {
		t.Fatalf("StopGroup with another tag = %v, %v; want not found", found, err)
	}
	if !running(p.PID) {
		t.Fatal("StopGroup with another tag signalled the group")
	}
	found, err = stopper.StopGroup(ctx, p)
	if err != nil || !found {
		t.Fatalf("StopGroup = %v, %v; want found and stopped", found, err)
	}
	if running(p.PID) {
		t.Errorf("pid %d still runs after StopGroup", p.PID)
	}
	if found, err = stopper.StopGroup(ctx, p); err != nil || found {
		t.Errorf("StopGroup of a stopped group = %v, %v; want not found", found, err)
	}
}

// TestStopGroupLeftByASessionCommand: the same for a command run on a
// pipelined session (the engine's path for a host's steps): Started
// reports the command's process group, and its shell itself (a script
// that starts no process) carries the tag StopGroup looks for.
func TestStopGroupLeftByASessionCommand(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ts := f.server(serverOpts{setsid: true})
	conn := dial(t, &sshtr.Transport{}, f.host(ts))
	s, ok, err := transport.OpenSession(context.Background(), conn)
	if err != nil || !ok {
		t.Fatalf("OpenSession = %v, %v", ok, err)
	}
	defer s.Close()
	if _, err := s.Run(context.Background(), transport.Command{Script: "true"}); err != nil {
		t.Fatal(err) // a first command, so that the next one is not the session's first
	}
	out := transporttest.NewLineWriter()
	var mu sync.Mutex
	var procs []transport.RemoteProc
	go func() {
		<-out.Ready()
		ts.drop()
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// Only builtins run once "ready" is printed: read blocks on a fifo.
	_, err = s.Run(ctx, transport.Command{
		Script: `f=$(mktemp -u); mkfifo "$f"; echo ready; read -r x <>"$f"; echo not-stopped`, Stdout: out,
		Started: func(p transport.RemoteProc) { mu.Lock(); procs = append(procs, p); mu.Unlock() },
	})
	if err == nil || ctx.Err() != nil {
		t.Fatalf("Run on a dropped connection = %v (ctx %v), want a lost connection", err, ctx.Err())
	}
	mu.Lock()
	if len(procs) != 1 {
		t.Fatalf("Started called %d times, want once", len(procs))
	}
	p := procs[0]
	mu.Unlock()
	if p.PGID <= 1 || p.PID != p.PGID || !strings.HasPrefix(p.Tag, "golive-") {
		t.Fatalf("Started(%+v): want the command's own process group and its tag", p)
	}
	if !running(p.PID) {
		t.Fatalf("the command (pid %d) did not outlive its connection; the test proves nothing", p.PID)
	}
	t.Cleanup(func() { syscall.Kill(-p.PGID, syscall.SIGKILL) })

	stopper := dial(t, &sshtr.Transport{}, f.host(ts)).(transport.GroupStopper)
	found, err := stopper.StopGroup(ctx, p)
	if err != nil || !found {
		t.Fatalf("StopGroup = %v, %v; want found and stopped", found, err)
	}
	if running(p.PID) {
		t.Errorf("pid %d still runs after StopGroup", p.PID)
	}
}
