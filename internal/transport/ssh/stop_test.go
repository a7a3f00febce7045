package ssh_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golive-dev/golive/internal/transport"
	sshtr "github.com/golive-dev/golive/internal/transport/ssh"
	"github.com/golive-dev/golive/internal/transport/transporttest"
)

// A connection the server drops in the middle of a step fails the Run at
// once with ErrConnLost.
func TestRunConnectionDropped(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ts := f.server(serverOpts{setsid: true})
	conn := dial(t, &sshtr.Transport{}, f.host(ts))
	out := transporttest.NewLineWriter()
	go func() {
		<-out.Ready()
		ts.drop()
	}()
	res, err := transporttest.RunGuarded(t, context.Background(), conn, transport.Command{Script: "echo ready; sleep 5", Stdout: out})
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
	out := transporttest.NewLineWriter()
	go func() {
		<-out.Ready()
		ts.freeze()
	}()
	start := time.Now()
	res, err := transporttest.RunGuarded(t, context.Background(), conn, transport.Command{Script: "echo ready; sleep 20", Stdout: out})
	if !errors.Is(err, sshtr.ErrConnLost) || res.ExitCode != -1 || !strings.Contains(err.Error(), "keepalive") {
		t.Errorf("Run = %+v, %v; want -1, ErrConnLost naming the keepalives", res, err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Run took %v to notice the dead host", d)
	}
}
