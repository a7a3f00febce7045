package engine_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golive-dev/golive/internal/engine"
	"github.com/golive-dev/golive/internal/store"
	"github.com/golive-dev/golive/internal/transport"
	"github.com/golive-dev/golive/internal/transport/local"
)

// failingStopTransport is the local transport whose connections can stop
// remote process groups, but every stop fails (as when ssh cannot run
// kill on the target): a fault that local scripts cannot produce.
type failingStopTransport struct{ local.Transport }

type failingStopConn struct{ transport.Conn }

var errStop = errors.New("kill: operation not permitted (injected)")

func (c failingStopConn) StopGroup(context.Context, transport.RemoteProc) (bool, error) {
	return false, errStop
}

func (t *failingStopTransport) Dial(ctx context.Context, h transport.Host) (transport.Conn, error) {
	c, err := t.Transport.Dial(ctx, h)
	if err != nil {
		return nil, err
	}
	return failingStopConn{c}, nil
}

// TestResumeJournalsFailedStop: a remote group a dead controller left
// that cannot be stopped is journaled as remote_stop_failed with the
// reason, never as stopped or ended, and is tried again before its step
// runs again.
func TestResumeJournalsFailedStop(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1, `stages:
  - name: web
    on: web
    steps:
      - {name: a, run: 'echo a >> log', backout: 'echo undo-a >> log'}
`)
	run := crashedRun(t, f, deadHolder(t), "stage started - -", "batch started - -", "host started h1 -", "step started h1 a")
	proc := transport.RemoteProc{PID: 4242, PGID: 4242, Tag: "golive-abc"}
	if _, err := f.st.AppendEvent(context.Background(), store.Event{RunID: run.ID, Kind: store.KindStep, Action: engine.ActionRemoteStarted,
		Stage: "web", Batch: 1, Host: "h1", Step: "a", Message: proc.String()}); err != nil {
		t.Fatal(err)
	}
	e := f.engine(func(o *engine.Options) {
		o.Transports = map[string]transport.Transport{"local": &failingStopTransport{local.Transport{Grace: 300 * time.Millisecond}}}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	e.Resume(ctx, run, f.ro) // its outcome is not the point here
	var got []string
	for _, ev := range f.events(run.ID) {
		if strings.HasPrefix(string(ev.Action), "remote_stop") {
			got = append(got, string(ev.Action)+": "+ev.Message)
		}
	}
	// Once when the resume starts, once more before step a runs again on
	// h1 (its earlier attempt's group was not stopped).
	if len(got) != 2 {
		t.Fatalf("stop events = %q, want two remote_stop_failed", got)
	}
	for _, g := range got {
		if !strings.HasPrefix(g, "remote_stop_failed: could not stop "+proc.String()) || !strings.Contains(g, errStop.Error()) {
			t.Fatalf("stop events = %q, want remote_stop_failed naming the group and %q", got, errStop)
		}
	}
}
